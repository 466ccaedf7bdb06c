"""Fleet reports built from the rollup tables, stored as Report rows and e-mailed to product staff.

A weekly report covers the last full ISO week (Monday to Sunday, UTC) and exists at most once per
product and week (a partial unique constraint); an on-demand one covers the last N days up to
today. Sending is claimed with a conditional UPDATE on `sent_at`, so two runs send one e-mail.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Max, Sum

from apps.products.models import Product
from apps.rollups.models import DailyBreakdown, DailyRollup, Report
from apps.rollups.services.daily import rollups_build

SUMMED = ["new_instances", "stale_instances", "dead_instances", "resurrected_instances", "heartbeats",
          "events", "installs_started", "installs_succeeded", "installs_failed", "installs_support", "opt_outs"]


@dataclass(frozen=True)
class Period:
    start: date
    end: date  # included

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def previous(self) -> "Period":
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))


def last_full_week(now: datetime) -> Period:
    monday = now.date() - timedelta(days=now.weekday())
    return Period(monday - timedelta(days=7), monday - timedelta(days=1))


def reports_send_weekly(*, now: datetime, product_ids: list[int] | None = None) -> list[Report]:
    """Create (once) and send (once) last week's report of every product; returns the reports."""
    period = last_full_week(now)
    products = Product.objects.order_by("pk")
    if product_ids is not None:
        products = products.filter(pk__in=product_ids)
    reports = []
    for product in products:
        content = report_content(product=product, period=period)
        # The partial unique constraint makes the insert a no-op when this week's report exists.
        Report.objects.bulk_create([_report(product, Report.Kind.WEEKLY, period, content, now)],
                                   ignore_conflicts=True)
        report = Report.objects.get(product=product, kind=Report.Kind.WEEKLY, period_start=period.start,
                                    period_end=period.end)
        report_send(report=report, now=now)
        reports.append(report)
    return reports


def report_create_on_demand(*, product: Product, now: datetime, days: int = 7) -> Report:
    """A report of the last `days` days up to today, after refreshing the still-moving rollups."""
    period = Period(now.date() - timedelta(days=days - 1), now.date())
    rollups_build(days=[now.date() - timedelta(days=1), now.date()], now=now, product_ids=[product.pk])
    content = report_content(product=product, period=period)
    report = _report(product, Report.Kind.ON_DEMAND, period, content, now)
    report.save()
    report_send(report=report, now=now)
    return report


def _report(product: Product, kind: str, period: Period, content: dict[str, Any], now: datetime) -> Report:
    return Report(product=product, kind=kind, period_start=period.start, period_end=period.end, created_at=now,
                  content=content, body=report_text(content))


def report_send(*, report: Report, now: datetime) -> bool:
    """E-mail the report to the product's staff unless already sent; True when this call sent it."""
    recipients = report.product.recipient_list()
    if not recipients:
        return False
    claimed = Report.objects.filter(pk=report.pk, sent_at__isnull=True).update(
        sent_at=now, sent_to="\n".join(recipients))
    if not claimed:
        return False
    content = report.content
    subject = f"[{content['product']['name']}] fleet report {content['period']['start']} to {content['period']['end']}"
    try:
        send_mail(subject, report.body, settings.TELEMETRY_REPORT_FROM_EMAIL, recipients)
    except Exception:
        # Release the claim so a retry of the task sends it; the report itself stays stored.
        Report.objects.filter(pk=report.pk, sent_at=now).update(sent_at=None, sent_to="")
        raise
    report.sent_at, report.sent_to = now, "\n".join(recipients)
    return True


def report_content(*, product: Product, period: Period) -> dict[str, Any]:
    """The report's figures, read from the rollup tables only."""
    current = _period_figures(product, period)
    previous = _period_figures(product, period.previous())
    started, succeeded = current["installs_started"], current["installs_succeeded"]
    snapshot = _snapshot_day(product, period)
    return {
        "product": {"slug": product.slug, "name": product.name},
        "period": {"start": period.start.isoformat(), "end": period.end.isoformat(), "days": period.days},
        "active_instances": {
            "average": current["active_average"], "peak": current["active_peak"],
            "previous_average": previous["active_average"],
            "change": round(current["active_average"] - previous["active_average"], 1),
            "change_percent": _percent(current["active_average"] - previous["active_average"],
                                       previous["active_average"]),
        },
        "new_instances": current["new_instances"],
        "installs": {"started": started, "succeeded": succeeded, "failed": current["installs_failed"],
                     "support": current["installs_support"], "success_rate": _percent(succeeded, started)},
        "instances_gone_stale": current["stale_instances"],
        "instances_gone_dead": current["dead_instances"],
        "instances_resurrected": current["resurrected_instances"],
        "heartbeats": current["heartbeats"],
        "events": current["events"],
        "opt_outs": current["opt_outs"],
        "snapshot_day": snapshot.isoformat() if snapshot else None,
        "versions": _breakdown(product, snapshot, DailyBreakdown.Dimension.VERSION, "version"),
        "licences": _breakdown(product, snapshot, DailyBreakdown.Dimension.LICENSE_TYPE, "type"),
        "countries": _breakdown(product, snapshot, DailyBreakdown.Dimension.COUNTRY, "country"),
    }


def _period_figures(product: Product, period: Period) -> dict[str, Any]:
    rows = DailyRollup.objects.filter(product=product, day__range=(period.start, period.end))
    sums = rows.aggregate(active_total=Sum("active_instances"), active_peak=Max("active_instances"),
                          **{column: Sum(column) for column in SUMMED})
    figures = {key: value or 0 for key, value in sums.items()}
    # Averaged over every day of the period: a day without a rollup row had no activity.
    figures["active_average"] = round(figures.pop("active_total") / period.days, 1)
    return figures


def _snapshot_day(product: Product, period: Period) -> date | None:
    """The period's latest day with active instances: versions and licences are shown as of then."""
    return (DailyBreakdown.objects.filter(product=product, day__range=(period.start, period.end),
                                          dimension=DailyBreakdown.Dimension.VERSION)
            .aggregate(day=Max("day"))["day"])


def _breakdown(product: Product, day: date | None, dimension: str, label: str) -> list[dict[str, Any]]:
    if day is None:
        return []
    rows = list(DailyBreakdown.objects.filter(product=product, day=day, dimension=dimension)
                .order_by("-count", "key").values_list("key", "count"))
    total = sum(count for _, count in rows)
    return [{label: key or "unknown", "instances": count, "share": _percent(count, total)} for key, count in rows]


def _percent(part: float, whole: float) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def report_text(content: dict[str, Any]) -> str:
    """The e-mail body: plain text, one figure per line."""
    active, installs = content["active_instances"], content["installs"]
    rate = "n/a" if installs["success_rate"] is None else f"{installs['success_rate']}%"
    change = "n/a" if active["change_percent"] is None else f"{active['change_percent']:+}%"
    lines = [
        f"{content['product']['name']}: fleet report {content['period']['start']} to {content['period']['end']}",
        "",
        f"Active instances (daily average): {active['average']} (previous period {active['previous_average']}, "
        f"change {active['change']:+} / {change}); peak {active['peak']}",
        f"New instances: {content['new_instances']}",
        f"Installs: {installs['started']} started, {installs['succeeded']} succeeded, {installs['failed']} failed, "
        f"{installs['support']} asked for support; success rate {rate}",
        f"Gone stale: {content['instances_gone_stale']}; gone dead: {content['instances_gone_dead']}; "
        f"came back: {content['instances_resurrected']}",
        f"Heartbeats: {content['heartbeats']}; events: {content['events']}",
        f"Opt-outs (installations with telemetry off): {content.get('opt_outs', 0)}",
        "",
        f"Versions (as of {content['snapshot_day'] or 'n/a'}):",
        *[f"  {row['version']}: {row['instances']} ({row['share']}%)" for row in content["versions"]],
        "Licences:",
        *[f"  {row['type']}: {row['instances']} ({row['share']}%)" for row in content["licences"]],
        "Countries:",
        *[f"  {row['country']}: {row['instances']} ({row['share']}%)" for row in content.get("countries", [])],
    ]
    return "\n".join(lines) + "\n"

