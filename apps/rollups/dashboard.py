"""Reads behind the per-product fleet dashboard in the admin.

Every chart reads the rollup tables (DailyRollup, DailyBreakdown, Report); the only read of the
registry is one GROUP BY over the product's instances for the current status counts. Each function
runs a fixed number of queries whose result size is bounded by the days in the range (and a top-N),
never by the size of the fleet, so a year of rollups for 100,000 instances loads as fast as a week.
"""

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypedDict

from django.db.models import Case, Count, F, Max, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, Substr

from apps.core.versions import Version
from apps.ingest.envelope import DEVELOPMENT_CONTEXT
from apps.instances.models import Installation, Instance, InstanceStatus
from apps.products.models import Product, Release

from .cohorts import Cohort, retention_cohorts
from .models import DailyBreakdown, DailyRollup, Report

TOP_VERSIONS = 8
TOP_EVENTS = 10
TOP_OPT_OUT_VERSIONS = 8
TOP_COUNTRIES = 12
TOP_FAILURES = 10
ERROR_HEAD = 120  # failures group by the start of their message: the rest is paths and numbers
MAX_RANGE_DAYS = 2 * 366
PRESETS = (("7d", 7), ("30d", 30), ("90d", 90), ("1y", 365))
DEFAULT_PRESET_DAYS = 30
OTHER = "other"
ROLLUP_FIELDS = ("active_instances", "new_instances", "stale_instances", "dead_instances",
                 "resurrected_instances", "heartbeats", "events", "opt_outs")
FUNNEL_FIELDS = ("installs_started", "installs_succeeded", "installs_failed", "installs_support")
# Figures that count things happening in a bucket add up; levels (instances active on a day) are averaged.
LEVEL_FIELDS = ("active_instances",)
WEEKLY_AFTER_DAYS = 90
MONTHLY_AFTER_DAYS = 366
SNAPSHOT_DIMENSIONS = (DailyBreakdown.Dimension.LICENSE_TYPE, DailyBreakdown.Dimension.EDITION,
                       DailyBreakdown.Dimension.OS, DailyBreakdown.Dimension.COUNTRY)


@dataclass(frozen=True)
class DateRange:
    start: date
    end: date
    preset: str = ""

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]

    @property
    def bucket(self) -> str:
        """Day by day up to 90 days, then weeks, and months beyond a year: a chart keeps readable bars."""
        length = (self.end - self.start).days + 1
        if length > MONTHLY_AFTER_DAYS:
            return "month"
        return "week" if length > WEEKLY_AFTER_DAYS else "day"

    def previous(self) -> "DateRange":
        """The period of the same length just before this one (the faint overlay)."""
        length = self.end - self.start + timedelta(days=1)
        return DateRange(self.start - length, self.end - length)


def bucket_start(day: date, bucket: str) -> date:
    if bucket == "week":
        return day - timedelta(days=day.weekday())  # ISO weeks start on Monday
    if bucket == "month":
        return day.replace(day=1)
    return day


def bucketed(values: dict[date, int], *, days: list[date], bucket: str, level: bool) -> list[int]:
    """Daily values folded into the range's buckets: summed, or for a level the mean over the days
    that have a figure (a half-built week must not look like a drop)."""
    sums: dict[date, int] = {}
    seen: dict[date, int] = {}
    for day in days:
        key = bucket_start(day, bucket)
        sums.setdefault(key, 0)
        seen.setdefault(key, 0)
        if day in values:
            sums[key] += values[day]
            seen[key] += 1
    if not level:
        return list(sums.values())
    return [round(total / seen[key]) if seen[key] else 0 for key, total in sums.items()]


def bucket_labels(days: list[date], bucket: str) -> list[str]:
    return [key.isoformat() for key in dict.fromkeys(bucket_start(day, bucket) for day in days)]


def _parse_day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def date_range_from_params(params: Any, *, today: date) -> DateRange:
    """The range asked for by `?range=30d` or `?from=…&to=…`; bad or missing input falls back to 30 days."""
    preset = dict(PRESETS)
    start, end = _parse_day(params.get("from")), _parse_day(params.get("to"))
    if start or end:
        end = end or today
        start = start or end - timedelta(days=DEFAULT_PRESET_DAYS - 1)
        if start > end:
            start, end = end, start
        start = max(start, end - timedelta(days=MAX_RANGE_DAYS - 1))
        return DateRange(start, end)
    name = params.get("range") if params.get("range") in preset else f"{DEFAULT_PRESET_DAYS}d"
    return DateRange(today - timedelta(days=preset[name] - 1), today, name)


def _label(key: str) -> str:
    return key or "unknown"


def _version_sort_key(key: str) -> tuple:
    # Oldest version at the bottom of the stack, "other" below everything.
    return (0,) if key == OTHER else (1, Version(key or "0"))


def rollup_series(*, product: Product, span: DateRange, today: date) -> dict[str, Any]:
    """Fleet figures per bucket (one query), install totals for the funnel with the time the rollups
    were built (one aggregate query), and the active instances of the previous period (one query)."""
    rows = {row["day"]: row for row in DailyRollup.objects.filter(
        product=product, day__gte=span.start, day__lte=span.end).values("day", *ROLLUP_FIELDS)}
    days, bucket = span.days, span.bucket
    series = {name: bucketed({day: row[name] for day, row in rows.items()}, days=days, bucket=bucket,
                             level=name in LEVEL_FIELDS) for name in ROLLUP_FIELDS}
    totals = DailyRollup.objects.filter(product=product, day__gte=span.start, day__lte=span.end).aggregate(
        **{name: Coalesce(Sum(name), 0) for name in (*FUNNEL_FIELDS, "heartbeats", "events")},
        as_of=Max("computed_at"))
    previous = span.previous()
    before = dict(DailyRollup.objects.filter(product=product, day__gte=previous.start, day__lte=previous.end)
                  .values_list("day", "active_instances"))
    labels = bucket_labels(days, bucket)
    return {"labels": labels, "series": series, "totals": totals, "has_data": bool(rows),
            "as_of": totals.pop("as_of"), "bucket": bucket,
            # The bucket holding today is still filling up: drawn dashed, never read as a drop.
            "partial": span.start <= today <= span.end,
            "previous_active": bucketed(before, days=previous.days, bucket=bucket, level=True)[:len(labels)]}


def version_adoption(*, product: Product, span: DateRange) -> dict[str, Any]:
    """Active instances per version per bucket, the top versions of the range and the rest as "other"."""
    in_range = DailyBreakdown.objects.filter(product=product, dimension=DailyBreakdown.Dimension.VERSION,
                                             day__gte=span.start, day__lte=span.end)
    top = list(in_range.values("key").annotate(total=Sum("count")).order_by("-total", "key")
               .values_list("key", flat=True)[:TOP_VERSIONS])
    rows = (in_range.annotate(series=Case(When(key__in=top, then=F("key")), default=Value(OTHER)))
            .values("day", "series").annotate(n=Sum("count")).order_by())
    grid: dict[str, dict[date, int]] = {}
    for row in rows:
        grid.setdefault(row["series"], {})[row["day"]] = row["n"]
    days, bucket = span.days, span.bucket
    return {"labels": bucket_labels(days, bucket), "top": len(top), "has_other": OTHER in grid, "datasets": [
        {"label": _label(key), "version": key,
         "data": bucketed(grid[key], days=days, bucket=bucket, level=True)}
        for key in sorted(grid, key=_version_sort_key)]}


def release_markers(*, product: Product, span: DateRange) -> list[dict[str, str]]:
    """Releases published in the range, placed on the bucket they fall in (one bounded query)."""
    start = datetime.combine(span.start, time.min, tzinfo=UTC)
    end = datetime.combine(span.end + timedelta(days=1), time.min, tzinfo=UTC)
    return [{"version": version, "label": bucket_start(released_at.date(), span.bucket).isoformat()}
            for version, released_at in Release.objects.filter(
                product=product, released_at__gte=start, released_at__lt=end)
            .order_by("released_at").values_list("version", "released_at")[:20]
            if released_at is not None]  # always set within the range: the column is nullable


# Identity and bookkeeping calls of the SDKs (Segment, PostHog): not usage, so not "top events".
SDK_BOOKKEEPING_EVENTS = ("$identify", "$groupidentify", "$set", "$create_alias", "identify", "group", "alias",
                          "$feature_flag_called", "$pageleave")


def top_events(*, product: Product, span: DateRange) -> list[dict[str, Any]]:
    return [{"name": row["key"], "count": row["total"], "instance_days": row["instance_days"]}
            for row in DailyBreakdown.objects.filter(
                product=product, dimension=DailyBreakdown.Dimension.EVENT,
                day__gte=span.start, day__lte=span.end).exclude(key__in=SDK_BOOKKEEPING_EVENTS)
            .values("key").annotate(total=Sum("count"), instance_days=Sum("instances"))
            .order_by("-total", "key")[:TOP_EVENTS]]


def latest_snapshot(*, product: Product, span: DateRange) -> dict[str, Any]:
    """Active instances by licence type, edition, os and country on the last day of the range that has rollups."""
    last_day = Subquery(DailyBreakdown.objects.filter(
        product=product, day__gte=span.start, day__lte=span.end,
        dimension__in=SNAPSHOT_DIMENSIONS).order_by("-day").values("day")[:1])
    snapshot: dict[str, Any] = {"day": None, **{str(dim): [] for dim in SNAPSHOT_DIMENSIONS}}
    for row in (DailyBreakdown.objects.filter(product=product, dimension__in=SNAPSHOT_DIMENSIONS, day=last_day)
                .order_by("dimension", "-count", "key").values("day", "dimension", "key", "count")):
        snapshot["day"] = row["day"]
        # Blank editions, systems and licence types are a slice of their own: hiding them made a
        # fleet of mostly unknown licences look all-Enterprise.
        snapshot[row["dimension"]].append({"label": row["key"] or "none or unknown", "key": row["key"],
                                           "count": row["count"]})
    snapshot[DailyBreakdown.Dimension.COUNTRY] = _top(snapshot[DailyBreakdown.Dimension.COUNTRY], TOP_COUNTRIES)
    licences = snapshot[DailyBreakdown.Dimension.LICENSE_TYPE]
    if not any(row["label"] != "none or unknown" for row in licences):
        snapshot[DailyBreakdown.Dimension.LICENSE_TYPE] = []  # no licence reported at all: nothing to chart
    return snapshot


def _top(rows: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    """The n largest slices (rows come largest first) and the rest summed as "other"."""
    if len(rows) <= n:
        return rows
    return [*rows[:n], {"label": OTHER, "key": None, "count": sum(row["count"] for row in rows[n:])}]


def dark_fleet(*, activity: dict[str, Any], product: Product, span: DateRange) -> dict[str, Any]:
    """Opt-outs per day beside active instances (from the series already read), and by version over the range."""
    versions = [{"label": _label(row["key"]), "count": row["total"]}
                for row in DailyBreakdown.objects.filter(
                    product=product, dimension=DailyBreakdown.Dimension.OPT_OUT_VERSION,
                    day__gte=span.start, day__lte=span.end)
                .values("key").annotate(total=Sum("count")).order_by("-total", "key")]
    series = activity["series"]
    return {"labels": activity["labels"], "active": series["active_instances"], "opt_outs": series["opt_outs"],
            "total": sum(series["opt_outs"]), "last_day": series["opt_outs"][-1] if series["opt_outs"] else 0,
            "versions": _top(versions, TOP_OPT_OUT_VERSIONS)}


def status_counts(*, product: Product, now: datetime | None = None) -> dict[str, int]:
    """Current status of the product's production instances (development builds left out), and how many
    were first seen today (UTC): the one registry read, a GROUP BY on an index. Live, unlike every rollup panel."""
    counts = {status: 0 for status in InstanceStatus.values}
    midnight = datetime.combine((now or datetime.now(UTC)).date(), time.min, tzinfo=UTC)
    new_today = 0
    production = Instance.objects.filter(product=product).exclude(context=DEVELOPMENT_CONTEXT)
    for row in (production.order_by().values("status")
                .annotate(n=Count("id"), today=Count("id", filter=Q(first_seen__gte=midnight)))):
        counts[row["status"]] = row["n"]
        new_today += row["today"]
    return {**counts, "new_today": new_today}


def alive(statuses: dict[str, int]) -> int:
    return statuses[InstanceStatus.NEW] + statuses[InstanceStatus.ACTIVE]


class InstallFailure(TypedDict):
    error_head: str
    os: str
    count: int


def install_failures(*, product: Product, span: DateRange) -> list[InstallFailure]:
    """Failed installs of the range grouped by the start of their error and their OS, most frequent
    first: one GROUP BY on the (product, started_at) index, a top-N result."""
    start = datetime.combine(span.start, time.min, tzinfo=UTC)
    end = datetime.combine(span.end + timedelta(days=1), time.min, tzinfo=UTC)
    return list(Installation.objects.filter(product=product, status=Installation.Status.FAILED,
                                            started_at__gte=start, started_at__lt=end)
                .annotate(error_head=Substr("error", 1, ERROR_HEAD)).order_by()
                .values("error_head", "os").annotate(count=Count("id"))
                .order_by("-count", "error_head", "os")[:TOP_FAILURES])


def latest_report(*, product: Product) -> Report | None:
    return Report.objects.filter(product=product).order_by("-period_end", "-created_at").first()


@dataclass
class FleetDashboard:
    product: Product
    span: DateRange
    activity: dict[str, Any]
    versions: dict[str, Any]
    events: list[dict[str, Any]]
    snapshot: dict[str, Any]
    statuses: dict[str, int]
    report: Report | None
    releases: list[dict[str, str]] = field(default_factory=list)
    failures: list[InstallFailure] = field(default_factory=list)
    cohorts: list[Cohort] = field(default_factory=list)
    tiles: list[dict[str, Any]] = field(default_factory=list)
    dark: dict[str, Any] = field(default_factory=dict)

    @property
    def is_empty(self) -> bool:
        """No instance has ever pinged: the page shows how to send the first ping instead of charts."""
        return not any(self.statuses[status] for status in InstanceStatus.values)

    def chart_data(self) -> dict[str, Any]:
        """What the page's script draws, as plain JSON."""
        funnel = self.activity["totals"]
        return {
            "activity": {"labels": self.activity["labels"], **self.activity["series"],
                         "previous_active": self.activity["previous_active"]},
            "bucket": self.activity["bucket"],
            "partial": self.activity["partial"],
            "releases": self.releases,
            "versions": self.versions,
            "funnel": [funnel[name] for name in FUNNEL_FIELDS],
            "events": self.events,
            "statuses": {status: self.statuses[status] for status in InstanceStatus.values},
            "licenses": self.snapshot[DailyBreakdown.Dimension.LICENSE_TYPE],
            "editions": self.snapshot[DailyBreakdown.Dimension.EDITION],
            "os": self.snapshot[DailyBreakdown.Dimension.OS],
            "dark_fleet": self.dark,
            "countries": self.snapshot[DailyBreakdown.Dimension.COUNTRY],
        }


def _tiles(activity: dict[str, Any], statuses: dict[str, int]) -> list[dict[str, Any]]:
    active = activity["series"]["active_instances"]
    totals = activity["totals"]
    started, succeeded = totals["installs_started"], totals["installs_succeeded"]
    # The bucket holding today is still filling; the last complete one is the honest figure.
    complete = active[:-1] if activity["partial"] else active
    first = next((n for n in complete if n), 0)
    last = complete[-1] if complete else 0
    bucket = activity["bucket"]
    return [
        {"label": "Instances alive now", "value": alive(statuses), "live": True,
         "note": f"{statuses[InstanceStatus.STALE]} stale · {statuses[InstanceStatus.DEAD]} dead"},
        {"label": "New today", "value": statuses["new_today"], "live": True,
         "note": "first heartbeat since 00:00 UTC"},
        {"label": f"Active in the last full {bucket}", "value": last,
         "note": (f"{last - first:+d} over the range" if first else "")
         + (" · daily mean" if bucket != "day" else "")},
        {"label": "New in the range", "value": sum(activity["series"]["new_instances"]),
         "note": f"{sum(activity['series']['resurrected_instances'])} came back"},
        {"label": "Install success", "value": f"{100 * succeeded / started:.0f}%" if started else "n/a",
         "note": f"{succeeded} of {started} installs"},
        {"label": "Heartbeats", "value": totals["heartbeats"], "note": f"{totals['events']} other events"},
    ]


def fleet_dashboard(*, product: Product, span: DateRange, now: datetime | None = None) -> FleetDashboard:
    now = now or datetime.now(UTC)
    activity = rollup_series(product=product, span=span, today=now.date())
    statuses = status_counts(product=product, now=now)
    return FleetDashboard(
        product=product, span=span, activity=activity,
        versions=version_adoption(product=product, span=span),
        events=top_events(product=product, span=span),
        snapshot=latest_snapshot(product=product, span=span),
        statuses=statuses, report=latest_report(product=product),
        releases=release_markers(product=product, span=span),
        failures=install_failures(product=product, span=span),
        cohorts=retention_cohorts(product=product, until=span.end, now=now),
        tiles=_tiles(activity, statuses),
        dark=dark_fleet(activity=activity, product=product, span=span),
    )



SPARKLINE_DAYS = 30


@dataclass
class ProductOverview:
    product: Product
    statuses: dict[str, int]
    installs: int
    installs_failed: int
    sparkline: list[int]

    @property
    def alive(self) -> int:
        return alive(self.statuses)


def fleet_overview(*, products: list[Product], now: datetime) -> list[ProductOverview]:
    """Every product on one page: live status counts (one GROUP BY over the instances) and the last
    30 days of rollups (one query) for the installs and the sparkline of active instances."""
    midnight = datetime.combine(now.date(), time.min, tzinfo=UTC)
    statuses: dict[int, dict[str, int]] = {
        p.pk: {**{status: 0 for status in InstanceStatus.values}, "new_today": 0} for p in products}
    for row in (Instance.objects.exclude(context=DEVELOPMENT_CONTEXT).order_by().values("product_id", "status")
                .annotate(n=Count("id"), today=Count("id", filter=Q(first_seen__gte=midnight)))):
        if row["product_id"] in statuses:
            statuses[row["product_id"]][row["status"]] = row["n"]
            statuses[row["product_id"]]["new_today"] += row["today"]
    span = DateRange(now.date() - timedelta(days=SPARKLINE_DAYS - 1), now.date())
    rollups: dict[int, dict[date, tuple[int, int, int]]] = {p.pk: {} for p in products}
    for product_id, day, active, started, failed in DailyRollup.objects.filter(
            day__gte=span.start, day__lte=span.end).values_list(
            "product_id", "day", "active_instances", "installs_started", "installs_failed"):
        if product_id in rollups:
            rollups[product_id][day] = (active, started, failed)
    return [ProductOverview(
        product=p, statuses=statuses[p.pk],
        installs=sum(v[1] for v in rollups[p.pk].values()),
        installs_failed=sum(v[2] for v in rollups[p.pk].values()),
        sparkline=[rollups[p.pk].get(day, (0, 0, 0))[0] for day in span.days]) for p in products]


def sparkline_points(values: list[int], *, width: int = 120, height: int = 28) -> str:
    """An SVG polyline's points for a small inline chart (drawn server-side: no script needed)."""
    if not values:
        return ""
    top = max(values) or 1
    step = width / max(len(values) - 1, 1)
    return " ".join(f"{n * step:.1f},{height - 2 - (v / top) * (height - 4):.1f}" for n, v in enumerate(values))
