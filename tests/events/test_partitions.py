"""PostgreSQL's partitioned events table: partitions made ahead, retention dropping whole days, the
dedupe exact across partitions, and a filled plain table converted in place with ingest running."""

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.db.migrations.loader import MigrationLoader

from apps.core import sql
from apps.events import partitions
from apps.events.models import Event, EventMessageId
from apps.events.services import EventRow, events_insert, events_purge_expired
from apps.products.models import Product

NOW = datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC)
DAY = timedelta(days=1)

pytestmark = pytest.mark.skipif(not sql.is_postgres(), reason="only PostgreSQL partitions the events table")


def row(message_id: str, received_at: datetime, timestamp: datetime | None = None) -> EventRow:
    return EventRow(instance_pk=None, kind="event", name="API_CALL", message_id=message_id,
                    timestamp=timestamp or received_at, properties={}, received_at=received_at)


def in_partition(name: str) -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(f'SELECT message_id FROM "{name}" ORDER BY message_id')
        return [message_id for (message_id,) in cursor.fetchall()]


@pytest.mark.django_db
def test_partitions_are_made_ahead_once_and_take_over_their_rows_from_the_default(product: Product) -> None:
    assert partitions.is_partitioned()
    # Nothing exists yet for these days: the rows wait in the DEFAULT partition, none is refused.
    assert events_insert(product_id=product.pk, received_at=NOW, rows=[row("early", NOW + 2 * DAY)]) == {"early"}
    assert in_partition(partitions.DEFAULT_PARTITION) == ["early"]

    created = partitions.partitions_ensure(now=NOW, days_ahead=3)
    assert created == [partitions.partition_name((NOW + n * DAY).date()) for n in range(4)]
    assert partitions.partitions_ensure(now=NOW, days_ahead=3) == []
    assert in_partition(partitions.DEFAULT_PARTITION) == []
    assert in_partition(partitions.partition_name((NOW + 2 * DAY).date())) == ["early"]
    assert list(Event.objects.values_list("message_id", flat=True)) == ["early"]


@pytest.mark.django_db
def test_dedupe_is_exact_across_partitions(product: Product) -> None:
    partitions.partitions_ensure(now=NOW, days_back=2, days_ahead=2)
    assert events_insert(product_id=product.pk, received_at=NOW, rows=[row("m-1", NOW - DAY)]) == {"m-1"}
    # The retry arrives a day later, so it would land in another partition.
    again = [row("m-1", NOW + DAY), *[row(f"m-{n}", NOW + DAY) for n in range(2, 10)]]
    assert events_insert(product_id=product.pk, received_at=NOW, rows=again) == {f"m-{n}" for n in range(2, 10)}
    assert Event.objects.filter(message_id="m-1").count() == 1
    assert EventMessageId.objects.filter(product=product).count() == Event.objects.count() == 9


@pytest.mark.django_db
def test_retention_drops_whole_days_past_every_retention_and_deletes_within_the_rest(
        product: Product, make_product) -> None:
    product.retention_days = 10
    product.save()
    longer = make_product("hasura", retention_days=20)
    partitions.partitions_ensure(now=NOW, days_back=30, days_ahead=1)
    for p in (product, longer):
        events_insert(product_id=p.pk, received_at=NOW, rows=[
            row(f"age-{age}", NOW - age * DAY) for age in (28, 25, 22, 15, 5)])
    # Received recently, but its client time is older than either retention.
    events_insert(product_id=longer.pk, received_at=NOW, rows=[row("late", NOW - DAY, timestamp=NOW - 25 * DAY)])

    # Days past the longest retention (20 days, and a day of clock clamping) go as partitions.
    assert events_purge_expired(now=NOW, batch_size=2) == 2 * 3 + 1 + 1
    remaining = set(partitions.day_partitions())
    assert min(remaining) == (NOW - 21 * DAY).date()
    assert set(Event.objects.filter(product=product).values_list("message_id", flat=True)) == {"age-5"}
    assert set(Event.objects.filter(product=longer).values_list("message_id", flat=True)) == {"age-15", "age-5"}
    # The ids of dropped days are forgotten; those of kept events still refuse a retry.
    assert set(EventMessageId.objects.filter(product=longer).values_list("message_id", flat=True)) == {
        "age-15", "age-5", "late"}
    assert events_insert(product_id=longer.pk, received_at=NOW, rows=[row("age-15", NOW)]) == set()
    assert events_purge_expired(now=NOW, batch_size=2) == 0


# --- converting a filled plain table in place ---------------------------------------------------

def recreate_plain_table() -> None:
    """The events table as migration 0004 left it: one heap with the unique (product, message_id)."""
    old = MigrationLoader(connection).project_state(("events", "0004_event_kind_opt_out")).apps.get_model(
        "events", "Event")
    with connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE "{partitions.TABLE}" CASCADE')
    with connection.schema_editor() as editor:
        editor.create_model(old)


@pytest.fixture
def plain_table(transactional_db: None) -> Iterator[None]:
    recreate_plain_table()
    try:
        yield
    finally:
        if not partitions.is_partitioned():  # a failed conversion must not leave the next tests a plain table
            with connection.cursor() as cursor:
                cursor.execute(f'DROP TABLE IF EXISTS "{partitions.CONVERTING}" CASCADE')
            partitions.events_partition_in_place(now=NOW)


def test_a_filled_plain_table_is_converted_in_place_while_ingest_runs(plain_table: None) -> None:
    product = Product.objects.create(slug="appsmith", name="Appsmith")
    with connection.cursor() as cursor:
        cursor.execute(f"""INSERT INTO "{partitions.TABLE}" (product_id, kind, name, message_id, timestamp,
                                                           received_at, properties)
                           SELECT %s, 'event', 'API_CALL', 'old-' || g, t, t, '{{}}'
                             FROM (SELECT g, %s - g * interval '1 minute' AS t
                                     FROM generate_series(1, 20000) AS g) AS s""", [product.pk, NOW])
    assert not partitions.is_partitioned()

    # The new code runs against the plain table too (its unique constraint still decides).
    assert events_insert(product_id=product.pk, received_at=NOW, rows=[row("old-1", NOW), row("new-0", NOW)]) == {
        "new-0"}
    stored, stop = ["new-0"], threading.Event()

    def ingest() -> None:
        n = 0
        try:
            while not stop.is_set():
                n += 1
                stored.extend(events_insert(product_id=product.pk, received_at=NOW,
                                            rows=[row(f"new-{n}", NOW), row(f"old-{n}", NOW)]))
        finally:
            connection.close()

    deleted: list[str] = []

    def delete_some(_: int) -> None:
        if not deleted:  # rows already copied and rows not yet copied, deleted while the copy runs
            gone = ["old-19999", "old-5", "new-0"]
            Event.objects.filter(message_id__in=gone).delete()
            deleted.extend(gone)

    writer = threading.Thread(target=ingest)
    writer.start()
    try:
        copied = partitions.events_partition_in_place(now=NOW, batch_size=3000, progress=delete_some)
    finally:
        stop.set()
        writer.join(30)

    assert partitions.is_partitioned()
    assert copied >= 20000 - 3
    assert len(stored) > 1 and not any(m.startswith("old-") for m in stored)
    expected = {f"old-{g}" for g in range(1, 20001)} | set(stored)
    expected -= set(deleted)
    assert sorted(Event.objects.values_list("message_id", flat=True)) == sorted(expected)
    # Every stored message id is known to the dedupe table, so a retry stores nothing.
    assert set(EventMessageId.objects.values_list("message_id", flat=True)) >= expected
    assert events_insert(product_id=product.pk, received_at=NOW + DAY,
                         rows=[row("old-7", NOW + DAY), row(stored[-1], NOW), row("after", NOW)]) == {"after"}
    assert Event.objects.get(message_id="after").pk > max(Event.objects.exclude(message_id="after")
                                                          .values_list("pk", flat=True))
