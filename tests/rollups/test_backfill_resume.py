"""Backfills that survive a killed worker: split into chunks, and a chunk run again resumes."""

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine

from apps.products.models import Product
from apps.rollups import tasks
from apps.rollups.models import DailyRollup
from apps.rollups.services import days_between, rollups_build

FIRST = date(2024, 1, 1)
STARTED = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def two_products(make_product: Callable[..., Product]) -> list[Product]:
    return [make_product("appsmith"), make_product("hasura")]


def _computed(day: date) -> set[datetime]:
    return set(DailyRollup.objects.filter(day=day).values_list("computed_at", flat=True))


@pytest.mark.django_db
def test_a_backfill_run_again_skips_the_days_it_already_built(two_products: list[Product]) -> None:
    days = list(days_between(FIRST, FIRST + timedelta(days=4)))
    # The first run was killed after three days.
    assert rollups_build(days=days[:3], now=STARTED + timedelta(minutes=1), resume_from=STARTED) == 6
    again = STARTED + timedelta(minutes=5)
    assert rollups_build(days=days, now=again, resume_from=STARTED) == 4
    assert [_computed(day) for day in days] == [{STARTED + timedelta(minutes=1)}] * 3 + [{again}] * 2
    assert DailyRollup.objects.count() == 10


@pytest.mark.django_db
def test_a_day_built_for_only_some_products_is_built_again(two_products: list[Product]) -> None:
    rollups_build(days=[FIRST], now=STARTED + timedelta(minutes=1), product_ids=[two_products[0].pk])
    assert rollups_build(days=[FIRST], now=STARTED + timedelta(minutes=2), resume_from=STARTED) == 2


@pytest.mark.django_db
def test_days_built_before_the_backfill_started_are_rebuilt(two_products: list[Product]) -> None:
    rollups_build(days=[FIRST], now=STARTED - timedelta(days=1))
    assert rollups_build(days=[FIRST], now=STARTED + timedelta(minutes=1), resume_from=STARTED) == 2


@pytest.mark.django_db
def test_a_long_backfill_is_sent_as_chunks_that_share_its_start(two_products: list[Product],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    sent: list[tuple[Any, ...]] = []
    monkeypatch.setattr(tasks.build_rollups, "delay", lambda *args: sent.append(args))
    with time_machine.travel(STARTED, tick=False):
        assert tasks.build_rollups("2024-01-01", "2024-03-10") == 0
    assert [(first, last) for first, last, _ in sent] == [
        ("2024-01-01", "2024-01-31"), ("2024-02-01", "2024-03-02"), ("2024-03-03", "2024-03-10")]
    assert {started for _, _, started in sent} == {STARTED.isoformat()}
    with time_machine.travel(STARTED + timedelta(minutes=1), tick=False):
        assert tasks.build_rollups(*sent[0]) == 62
    with time_machine.travel(STARTED + timedelta(minutes=2), tick=False):
        assert tasks.build_rollups(*sent[0]) == 0  # delivered again after its worker died: nothing to redo
        assert tasks.build_rollups(*sent[2]) == 16
