"""The public statistics page and badge: opt-in, no login, rollups only, small counts suppressed."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client

from apps.products.models import Product
from apps.rollups.models import DailyBreakdown, DailyRollup
from apps.rollups.public import badge_value, public_stats, suppress_small

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _fresh_cache() -> Iterator[None]:
    cache.clear()  # the public views are cached: never serve one test's page to another
    yield
    cache.clear()


def _product(*, public: bool, active: int = 40, days: int = 40) -> Product:
    product = Product.objects.create(slug="pub" if public else "priv", name="Pub", public_stats=public)
    for d in range(days):
        day = (NOW - timedelta(days=d)).date()
        DailyRollup.objects.create(product=product, day=day, active_instances=active, computed_at=NOW)
        DailyBreakdown.objects.bulk_create([
            DailyBreakdown(product=product, day=day, dimension="version", key="v2.0.0", count=max(active - 5, 0)),
            DailyBreakdown(product=product, day=day, dimension="version", key="v1.0.0-customer-x", count=3),
            DailyBreakdown(product=product, day=day, dimension="version", key="", count=2),
            DailyBreakdown(product=product, day=day, dimension="country", key="DE", count=25),
            DailyBreakdown(product=product, day=day, dimension="country", key="IS", count=1),
        ])
    return product


def test_small_slices_are_folded_and_a_small_other_is_hidden() -> None:
    assert suppress_small([("a", 50), ("b", 9), ("c", 1), ("d", 12)]) == [
        {"label": "a", "count": 50}, {"label": "d", "count": 12}, {"label": "other", "count": 10}]
    assert suppress_small([("a", 50), ("b", 3)]) == [{"label": "a", "count": 50}]


@pytest.mark.django_db
def test_public_figures_come_from_complete_days_of_rollups() -> None:
    product = _product(public=True)
    stats = public_stats(product=product, range_name="30d", today=NOW.date())
    assert stats.span.end == NOW.date() - timedelta(days=1) and len(stats.series["labels"]) == 30
    assert stats.active_now == 40
    assert stats.slices["version"] == [{"label": "v2.0.0", "count": 35}]  # 3 + 2 = 5 < 10: no "other"
    assert stats.slices["country"] == [{"label": "DE", "count": 25}]
    assert public_stats(product=product, range_name="365d", today=NOW.date()).series["bucket"] == "week"
    assert badge_value(product=product, today=NOW.date()) == "40"


@pytest.mark.django_db
def test_a_small_fleet_is_not_counted_exactly() -> None:
    product = _product(public=True, active=4)
    stats = public_stats(product=product, range_name="30d", today=NOW.date())
    assert stats.active_now is None and set(stats.series["active"]) == {None}
    assert badge_value(product=product, today=NOW.date()) == "<10"


@pytest.mark.django_db
def test_the_page_and_badge_need_no_login_and_only_exist_when_opted_in(client: Client) -> None:
    _product(public=True)
    _product(public=False)
    with time_machine.travel(NOW, tick=False):
        page = client.get("/stats/pub/")
        assert page.status_code == 200
        body = page.content.decode()
        assert 'data-testid="active-now">40<' in body and "v1.0.0-customer-x" not in body and "IS" not in body
        badge = client.get("/stats/pub/badge.svg")
        assert badge["Content-Type"].startswith("image/svg+xml") and ">40</text>" in badge.content.decode()
        assert client.get("/stats/priv/").status_code == 404
        assert client.get("/stats/priv/badge.svg").status_code == 404
        assert client.get("/stats/nope/").status_code == 404
        assert client.post("/stats/pub/").status_code == 405
