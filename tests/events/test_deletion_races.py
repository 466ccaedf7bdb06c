"""The events table has no foreign key constraints: row locks taken by the ingest writer and the
deletion receivers keep every event tied to a product and instance that exist.

The races run on PostgreSQL with real concurrent transactions: an ingest transaction holds the
instance (or product) while another deletes it, then stores events and commits. On SQLite one
writer runs at a time, so only the receivers and the product check can be exercised there.
"""

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from django.db import connection, connections, transaction

from apps.core import sql
from apps.events.models import Event
from apps.events.services import EventRow, events_insert
from apps.instances.models import ErasedInstance, Instance
from apps.instances.services import instance_erase, instances_lookup
from apps.products.models import Product

NOW = datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC)
DEADLINE = 30.0


def row(message_id: str, instance_pk: int | None) -> EventRow:
    return EventRow(instance_pk=instance_pk, kind="event", name="API_CALL", message_id=message_id, timestamp=NOW,
                    properties={})


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [1, 10], ids=["values", "batch"])
def test_events_of_a_product_that_is_gone_are_not_stored(rows: int) -> None:
    product = Product.objects.create(slug="gone", name="Gone")
    product_id = product.pk
    product.delete()
    stored = events_insert(product_id=product_id, received_at=NOW, rows=[row(f"m-{n}", None) for n in range(rows)])
    assert stored == set()
    assert not Event.objects.filter(product_id=product_id).exists()


@pytest.mark.django_db
def test_deleting_a_product_or_an_instance_deletes_their_events() -> None:
    kept, dropped = Product.objects.create(slug="kept", name="Kept"), Product.objects.create(slug="drop", name="Drop")
    instances = [Instance.objects.create(product=kept, instance_id=f"i-{n}", first_seen=NOW, last_seen=NOW)
                 for n in range(2)]
    events_insert(product_id=kept.pk, received_at=NOW, rows=[row("a", instances[0].pk), row("b", instances[1].pk)])
    events_insert(product_id=dropped.pk, received_at=NOW, rows=[row("c", None)])

    instances[0].delete()
    dropped.delete()

    assert list(Event.objects.values_list("message_id", flat=True)) == ["b"]


def wait_for_lock(pid: int, what: str) -> None:
    """Until the backend `pid` waits for a row lock (the deleting transaction is blocked)."""
    deadline = time.monotonic() + DEADLINE
    with connections["default"].cursor() as cursor:
        while True:
            cursor.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", [pid])
            found = cursor.fetchone()
            if found and found[0] == "Lock":
                return
            if time.monotonic() > deadline:
                pytest.fail(f"never blocked: {what}")
            time.sleep(0.01)


def race(hold: Callable[[], object], store: Callable[[], object], delete: Callable[[], object]) -> None:
    """An ingest transaction runs `hold`, a deleter runs `delete` and blocks on it, then ingest `store`s and commits."""
    held, deleter_pid = threading.Event(), list[int]()

    def ingest() -> None:
        try:
            with transaction.atomic():
                hold()
                held.set()
                wait_for_lock_of_deleter()
                store()
        finally:
            connection.close()

    def wait_for_lock_of_deleter() -> None:
        deadline = time.monotonic() + DEADLINE
        while not deleter_pid:
            assert time.monotonic() < deadline, "the deleter never started"
            time.sleep(0.01)
        wait_for_lock(deleter_pid[0], "the deletion waits for the ingest transaction")

    def deleter() -> None:
        try:
            assert held.wait(DEADLINE)
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_backend_pid()")
                deleter_pid.append(cursor.fetchone()[0])
            delete()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=2) as pool:
        futures = [pool.submit(ingest), pool.submit(deleter)]
        for future in futures:
            future.result(DEADLINE)


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("how", ["erasure", "delete"])
def test_an_instance_deleted_while_ingest_holds_it_takes_the_new_events_along(how: str) -> None:
    if not sql.is_postgres():
        pytest.skip("row locks and concurrent writers are PostgreSQL's")
    product = Product.objects.create(slug="racing", name="Racing")
    instance = Instance.objects.create(product=product, instance_id="i-1", first_seen=NOW, last_seen=NOW)
    events_insert(product_id=product.pk, received_at=NOW, rows=[row("before", instance.pk)])

    def hold() -> None:
        found, _ = instances_lookup(product_id=product.pk, instance_ids={"i-1"})
        assert found["i-1"].pk == instance.pk

    def store() -> None:
        assert events_insert(product_id=product.pk, received_at=NOW, rows=[row("during", instance.pk)]) == {"during"}

    def delete() -> None:
        if how == "erasure":
            instance_erase(instance_pk=instance.pk, user=None, now=NOW)
        else:
            Instance.objects.get(pk=instance.pk).delete()

    race(hold, store, delete)

    assert not Instance.objects.filter(pk=instance.pk).exists()
    assert not Event.objects.filter(product=product).exists()
    if how == "erasure":
        assert ErasedInstance.objects.filter(product=product).count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_product_deleted_while_ingest_holds_it_takes_the_new_events_along() -> None:
    if not sql.is_postgres():
        pytest.skip("row locks and concurrent writers are PostgreSQL's")
    product = Product.objects.create(slug="racing", name="Racing")

    def hold() -> None:
        assert events_insert(product_id=product.pk, received_at=NOW, rows=[row("first", None)]) == {"first"}

    def store() -> None:
        stored = events_insert(product_id=product.pk, received_at=NOW, rows=[row(f"m-{n}", None) for n in range(10)])
        assert len(stored) == 10

    race(hold, store, lambda: Product.objects.get(pk=product.pk).delete())

    assert not Product.objects.filter(pk=product.pk).exists()
    assert not Event.objects.filter(product_id=product.pk).exists()
