"""Reads behind the per-product fleet dashboard in the admin.

Every chart reads the rollup tables (DailyRollup, DailyBreakdown, Report); the only read of the
registry is one GROUP BY over the product's instances for the current status counts. Each function
runs a fixed number of queries whose result size is bounded by the days in the range (and a top-N),
never by the size of the fleet, so a year of rollups for 100,000 instances loads as fast as a week.
"""

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django.db.models import Case, Count, F, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce

from apps.core.versions import Version
from apps.ingest.envelope import DEVELOPMENT_CONTEXT
from apps.instances.models import Instance, InstanceStatus
from apps.products.models import Product

from .models import DailyBreakdown, DailyRollup, Report

TOP_VERSIONS = 8
TOP_EVENTS = 10
MAX_RANGE_DAYS = 2 * 366
PRESETS = (("7d", 7), ("30d", 30), ("90d", 90), ("1y", 365))
DEFAULT_PRESET_DAYS = 30
OTHER = "other"
ROLLUP_FIELDS = ("active_instances", "new_instances", "stale_instances", "dead_instances",
                 "resurrected_instances", "heartbeats", "events")
FUNNEL_FIELDS = ("installs_started", "installs_succeeded", "installs_failed", "installs_support")
SNAPSHOT_DIMENSIONS = (DailyBreakdown.Dimension.LICENSE_TYPE, DailyBreakdown.Dimension.EDITION,
                       DailyBreakdown.Dimension.OS)


@dataclass(frozen=True)
class DateRange:
    start: date
    end: date
    preset: str = ""

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range((self.end - self.start).days + 1)]


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


def rollup_series(*, product: Product, span: DateRange) -> dict[str, Any]:
    """Daily fleet figures (one query) and install totals for the funnel (one aggregate query)."""
    rows = {row["day"]: row for row in DailyRollup.objects.filter(
        product=product, day__gte=span.start, day__lte=span.end).values("day", *ROLLUP_FIELDS)}
    days = span.days
    series = {name: [rows.get(day, {}).get(name, 0) for day in days] for name in ROLLUP_FIELDS}
    totals = DailyRollup.objects.filter(product=product, day__gte=span.start, day__lte=span.end).aggregate(
        **{name: Coalesce(Sum(name), 0) for name in (*FUNNEL_FIELDS, "heartbeats", "events")})
    return {"labels": [day.isoformat() for day in days], "series": series, "totals": totals,
            "has_data": bool(rows)}


def version_adoption(*, product: Product, span: DateRange) -> dict[str, Any]:
    """Active instances per version per day, the top versions of the range and the rest as "other"."""
    in_range = DailyBreakdown.objects.filter(product=product, dimension=DailyBreakdown.Dimension.VERSION,
                                             day__gte=span.start, day__lte=span.end)
    top = list(in_range.values("key").annotate(total=Sum("count")).order_by("-total", "key")
               .values_list("key", flat=True)[:TOP_VERSIONS])
    rows = (in_range.annotate(series=Case(When(key__in=top, then=F("key")), default=Value(OTHER)))
            .values("day", "series").annotate(n=Sum("count")).order_by())
    grid: dict[str, dict[date, int]] = {}
    for row in rows:
        grid.setdefault(row["series"], {})[row["day"]] = row["n"]
    days = span.days
    return {"labels": [day.isoformat() for day in days], "top": len(top), "has_other": OTHER in grid, "datasets": [
        {"label": _label(key), "data": [grid[key].get(day, 0) for day in days]}
        for key in sorted(grid, key=_version_sort_key)]}


def top_events(*, product: Product, span: DateRange) -> list[dict[str, Any]]:
    return [{"name": row["key"], "count": row["total"], "instance_days": row["instance_days"]}
            for row in DailyBreakdown.objects.filter(
                product=product, dimension=DailyBreakdown.Dimension.EVENT,
                day__gte=span.start, day__lte=span.end)
            .values("key").annotate(total=Sum("count"), instance_days=Sum("instances"))
            .order_by("-total", "key")[:TOP_EVENTS]]


def latest_snapshot(*, product: Product, span: DateRange) -> dict[str, Any]:
    """Active instances by licence type, edition and os on the last day of the range that has rollups."""
    last_day = Subquery(DailyBreakdown.objects.filter(
        product=product, day__gte=span.start, day__lte=span.end,
        dimension__in=SNAPSHOT_DIMENSIONS).order_by("-day").values("day")[:1])
    snapshot: dict[str, Any] = {"day": None, **{str(dim): [] for dim in SNAPSHOT_DIMENSIONS}}
    for row in (DailyBreakdown.objects.filter(product=product, dimension__in=SNAPSHOT_DIMENSIONS, day=last_day)
                .order_by("dimension", "-count", "key").values("day", "dimension", "key", "count")):
        snapshot["day"] = row["day"]
        if row["key"] or row["dimension"] == DailyBreakdown.Dimension.LICENSE_TYPE:
            # Unknown editions and systems are left out; instances without a licence type are a slice.
            snapshot[row["dimension"]].append({"label": row["key"] or "none or unknown", "count": row["count"]})
    licences = snapshot[DailyBreakdown.Dimension.LICENSE_TYPE]
    if not any(row["label"] != "none or unknown" for row in licences):
        snapshot[DailyBreakdown.Dimension.LICENSE_TYPE] = []  # no licence reported at all: nothing to chart
    return snapshot


def status_counts(*, product: Product) -> dict[str, int]:
    """Current status of the product's production instances (development builds left out): the one
    registry read, a GROUP BY on an index."""
    counts = {status: 0 for status in InstanceStatus.values}
    production = Instance.objects.filter(product=product).exclude(context=DEVELOPMENT_CONTEXT)
    for row in production.order_by().values("status").annotate(n=Count("id")):
        counts[row["status"]] = row["n"]
    return counts


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
    tiles: list[dict[str, Any]] = field(default_factory=list)

    def chart_data(self) -> dict[str, Any]:
        """What the page's script draws, as plain JSON."""
        funnel = self.activity["totals"]
        return {
            "activity": {"labels": self.activity["labels"], **self.activity["series"]},
            "versions": self.versions,
            "funnel": [funnel[name] for name in FUNNEL_FIELDS],
            "events": self.events,
            "statuses": self.statuses,
            "licenses": self.snapshot[DailyBreakdown.Dimension.LICENSE_TYPE],
            "editions": self.snapshot[DailyBreakdown.Dimension.EDITION],
            "os": self.snapshot[DailyBreakdown.Dimension.OS],
        }


def _tiles(activity: dict[str, Any], statuses: dict[str, int]) -> list[dict[str, Any]]:
    active = activity["series"]["active_instances"]
    totals = activity["totals"]
    started, succeeded = totals["installs_started"], totals["installs_succeeded"]
    first = next((n for n in active if n), 0)
    last = active[-1] if active else 0
    return [
        {"label": "Active on the last day", "value": last,
         "note": f"{last - first:+d} over the range" if first else ""},
        {"label": "Instances alive now", "value": statuses[InstanceStatus.NEW] + statuses[InstanceStatus.ACTIVE],
         "note": f"{statuses[InstanceStatus.STALE]} stale · {statuses[InstanceStatus.DEAD]} dead"},
        {"label": "New instances", "value": sum(activity["series"]["new_instances"]),
         "note": f"{sum(activity['series']['resurrected_instances'])} came back"},
        {"label": "Install success", "value": f"{100 * succeeded / started:.0f}%" if started else "n/a",
         "note": f"{succeeded} of {started} installs"},
        {"label": "Heartbeats", "value": totals["heartbeats"], "note": f"{totals['events']} other events"},
    ]


def fleet_dashboard(*, product: Product, span: DateRange) -> FleetDashboard:
    activity = rollup_series(product=product, span=span)
    statuses = status_counts(product=product)
    return FleetDashboard(
        product=product, span=span, activity=activity,
        versions=version_adoption(product=product, span=span),
        events=top_events(product=product, span=span),
        snapshot=latest_snapshot(product=product, span=span),
        statuses=statuses, report=latest_report(product=product),
        tiles=_tiles(activity, statuses),
    )

