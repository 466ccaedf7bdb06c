"""The retention triangle: cohorts by week of first heartbeat, alive shares from status history."""

from datetime import UTC, date, datetime, timedelta

import pytest

from apps.instances.models import Instance, StatusChange
from apps.products.models import Product
from apps.rollups.cohorts import AGES_WEEKS, retention_cohorts

NOW = datetime(2025, 3, 5, 12, 0, tzinfo=UTC)  # a Wednesday
MONDAY = date(2025, 3, 3)


def _instance(product: Product, name: str, first_seen: datetime, *changes: tuple[str, str, datetime]) -> None:
    instance = Instance.objects.create(product=product, instance_id=name, first_seen=first_seen, last_seen=first_seen)
    for old, new, at in changes:
        StatusChange.objects.create(instance=instance, old=old, new=new, at=at)


@pytest.mark.django_db
def test_retention_by_weekly_cohort_is_a_triangle() -> None:
    product = Product.objects.create(slug="p", name="P")
    other = Product.objects.create(slug="o", name="O")
    old = datetime(2024, 12, 2, 10, tzinfo=UTC)  # 13 weeks before MONDAY: every age is known
    # Alive throughout; stale after 10 days then back; dead after 5 weeks; went stale after 3 days.
    _instance(product, "a", old, ("new", "active", old + timedelta(hours=2)))
    _instance(product, "b", old + timedelta(days=1), ("active", "stale", old + timedelta(days=10)),
              ("stale", "active", old + timedelta(days=20)))
    _instance(product, "c", old + timedelta(days=2), ("active", "stale", old + timedelta(weeks=3)),
              ("stale", "dead", old + timedelta(weeks=5)))
    _instance(product, "d", old, ("new", "stale", old + timedelta(days=3)))
    _instance(product, "recent", NOW - timedelta(days=9))  # the week of 24 Feb: only its 1-week age is known
    _instance(other, "elsewhere", old)

    cohorts = retention_cohorts(product=product, until=NOW.date(), now=NOW)

    assert [(c.week, c.size) for c in cohorts] == [(date(2025, 2, 24), 1), (date(2024, 12, 2), 4)]
    assert AGES_WEEKS == (1, 2, 4, 8, 12)
    # week 1: a, b (stale at day 10 is after day 8), c alive; d stale. week 2: b stale (day 10..20 covers day 15).
    assert cohorts[1].retention == (0.75, 0.5, 0.5, 0.5, 0.5)
    assert cohorts[0].retention == (None,) * 5  # 24 Feb + 1 week + 7 days is after NOW
