"""Retention: events older than their product's retention go, in bounded batches; the rest stay."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command

from apps.events.models import Event, EventMessageId
from apps.events.services import EventRow, events_insert, events_purge_expired
from apps.events.tasks import purge_expired
from apps.products.models import Product

NOW = datetime(2024, 6, 1, 3, 23, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
def history(product: Product, make_product) -> tuple[Product, Product]:
    product.retention_days = 30
    product.save()
    hasura = make_product("hasura", retention_days=365)
    ages = {"old-1": 400 * DAY, "old-2": 31 * DAY, "edge": 30 * DAY, "recent": 29 * DAY, "today": timedelta(0)}
    for p in (product, hasura):
        for name, age in ages.items():
            for n in range(3):
                Event.objects.create(product=p, kind="event", name=name, message_id=f"{name}-{n}",
                                     timestamp=NOW - age - n * timedelta(seconds=1), received_at=NOW)
    return product, hasura


def _left(product: Product) -> list[str]:
    return sorted(Event.objects.filter(product=product).values_list("message_id", flat=True))


@pytest.mark.django_db
def test_purge_deletes_only_what_is_past_each_products_retention(history: tuple[Product, Product]) -> None:
    appsmith, hasura = history
    progress: list[int] = []
    assert events_purge_expired(now=NOW, batch_size=4, progress=progress.append) == 11
    # appsmith: old-1 x3, old-2 x3, edge-1 and edge-2 (two full batches); hasura: old-1 x3.
    assert progress == [4, 4, 3]
    assert _left(appsmith) == ["edge-0", "recent-0", "recent-1", "recent-2", "today-0", "today-1", "today-2"]
    assert len(_left(hasura)) == 12 and not any(m.startswith("old-1") for m in _left(hasura))
    assert events_purge_expired(now=NOW, batch_size=4) == 0


@pytest.mark.django_db
def test_command_and_task_run_the_same_purge(history: tuple[Product, Product]) -> None:
    with time_machine.travel(NOW, tick=False):
        call_command("purge_expired", "--batch-size", "2", verbosity=0)
        assert Event.objects.count() == 30 - 11
        assert purge_expired.apply().get() == 0
    with time_machine.travel(NOW + 2 * DAY, tick=False):
        assert purge_expired.apply().get() == 4  # appsmith's edge-0 and recent x3 are now past 30 days


@pytest.mark.django_db
def test_purge_forgets_message_ids_only_past_every_retention(product: Product, make_product) -> None:
    product.retention_days = 10
    product.save()
    longer = make_product("hasura", retention_days=20)
    for p in (product, longer):
        events_insert(product_id=p.pk, received_at=NOW, rows=[
            EventRow(instance_pk=None, kind="event", name="x", message_id=f"age-{age}", timestamp=NOW - age * DAY,
                     properties={}, received_at=NOW - age * DAY) for age in (25, 15, 5)])

    assert events_purge_expired(now=NOW, batch_size=2) == 2 + 1
    # Received more than 20 days (and a day of clock clamping) ago: past every retention, forgotten.
    kept = set(EventMessageId.objects.values_list("product_id", "message_id"))
    assert kept == {(p.pk, f"age-{age}") for p in (product, longer) for age in (15, 5)}
    # The shorter retention deleted appsmith's age-15 event, but its id still refuses a retry.
    assert events_insert(product_id=product.pk, received_at=NOW, rows=[
        EventRow(instance_pk=None, kind="event", name="x", message_id="age-15", timestamp=NOW, properties={})]) == set()
