"""Retention by install cohort: for each week of first heartbeat, the share of its instances still
alive 1, 2, 4, 8 and 12 weeks later (a triangle: recent cohorts have no late columns yet).

One query, in the database: each instance of the cohorts gets, per age, the status its history
(StatusChange) gave it at first_seen + age, a correlated subquery on the (instance, …) index; the
GROUP BY on the cohort week counts the alive ones. An instance without a change by then was still
new (alive). Python only lays out the few cohort rows.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, DateTimeField, ExpressionWrapper, OuterRef, Q, Subquery
from django.db.models.functions import TruncDate, TruncWeek

from apps.instances.models import Instance, InstanceStatus, StatusChange
from apps.products.models import Product

AGES_WEEKS = (1, 2, 4, 8, 12)
COHORT_WEEKS = 16
ALIVE = (InstanceStatus.NEW, InstanceStatus.ACTIVE)


@dataclass(frozen=True)
class Cohort:
    week: date
    size: int
    # Per age: the share alive (0..1), or None while the cohort is younger than that age.
    retention: tuple[float | None, ...]

    @property
    def next_week(self) -> date:
        return self.week + timedelta(weeks=1)


def _status_at(weeks: int) -> Subquery:
    moment = ExpressionWrapper(OuterRef("first_seen") + timedelta(weeks=weeks), output_field=DateTimeField())
    return Subquery(StatusChange.objects.filter(instance_id=OuterRef("pk"), at__lte=moment)
                    .order_by("-at").values("new")[:1])


def retention_cohorts(*, product: Product, until: date, now: datetime) -> list[Cohort]:
    """The COHORT_WEEKS weekly cohorts up to the week of `until`, newest first."""
    last_week = until - timedelta(days=until.weekday())
    first_week = last_week - timedelta(weeks=COHORT_WEEKS - 1)
    start = datetime.combine(first_week, time.min, tzinfo=UTC)
    end = datetime.combine(last_week + timedelta(weeks=1), time.min, tzinfo=UTC)
    statuses = {f"s{age}": _status_at(age) for age in AGES_WEEKS}
    alive_counts = {
        f"alive{age}": Count("id", filter=Q(**{f"s{age}__in": ALIVE}) | Q(**{f"s{age}__isnull": True}))
        for age in AGES_WEEKS}
    rows = (Instance.objects.filter(product=product, first_seen__gte=start, first_seen__lt=end)
            .annotate(**statuses, cohort=TruncDate(TruncWeek("first_seen", tzinfo=UTC)))
            .order_by().values("cohort").annotate(size=Count("id"), **alive_counts).order_by("-cohort"))
    cohorts = []
    # The alive{age} columns come from **alive_counts, which the type checker cannot name.
    table: list[Mapping[str, Any]] = list(rows)
    for row in table:
        week = row["cohort"] if isinstance(row["cohort"], date) else date.fromisoformat(str(row["cohort"]))
        # An age is known for the whole cohort once its last day plus that age has passed.
        known = [now >= datetime.combine(week + timedelta(weeks=age, days=7), time.min, tzinfo=UTC)
                 for age in AGES_WEEKS]
        cohorts.append(Cohort(week=week, size=row["size"], retention=tuple(
            row[f"alive{age}"] / row["size"] if ok and row["size"] else None
            for age, ok in zip(AGES_WEEKS, known, strict=True))))
    return cohorts


def cohort_url_filter(week: date) -> dict[str, str]:
    """The instance list filter of a cohort (first seen that week), for the table's drill-down."""
    return {"first_seen__gte": week.isoformat(), "first_seen__lt": (week + timedelta(weeks=1)).isoformat()}
