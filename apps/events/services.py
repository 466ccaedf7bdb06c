"""Writes over many events. Retention: events older than their product's retention are deleted.

Deletes run in bounded batches, each its own short transaction, so a large backlog never holds
locks or builds one huge transaction, and a run stopped half-way (time limit, deploy) keeps what
it did; the next run carries on. Each batch finds its rows through the (product, timestamp) index.
The events table is not partitioned: see README "Scheduled jobs" for why.
"""

from collections.abc import Callable
from datetime import datetime

from django.db import connection, transaction

from apps.core.sqltime import db_datetime, is_postgres
from apps.events.models import Event
from apps.products.models import Product

DEFAULT_BATCH_SIZE = 10_000
EVENTS = Event._meta.db_table


def events_purge_expired(*, now: datetime, batch_size: int = DEFAULT_BATCH_SIZE,
                         product_ids: list[int] | None = None,
                         progress: Callable[[int], None] | None = None) -> int:
    """Delete every event whose timestamp is older than its product's retention; returns how many."""
    products = Product.objects.order_by("pk")
    if product_ids is not None:
        products = products.filter(pk__in=product_ids)
    deleted = 0
    for product in products.only("pk", "retention_days"):
        cutoff = product.retention_cutoff(now)
        delete_batch = _delete_batch_postgres if is_postgres() else _delete_batch_sqlite
        after: datetime | None = None
        while True:
            removed, after = delete_batch(product_id=product.pk, after=after, cutoff=cutoff, batch_size=batch_size)
            deleted += removed
            if progress and removed:
                progress(removed)
            if removed < batch_size:
                break
    return deleted


def _delete_batch_postgres(*, product_id: int, after: datetime | None, cutoff: datetime,
                           batch_size: int) -> tuple[int, datetime | None]:
    """Delete the oldest batch at or after `after`; returns (rows deleted, newest timestamp deleted).

    Starting each batch where the previous one ended keeps the index scan from wading again
    through the entries of rows already deleted but not yet vacuumed. `= ANY(ARRAY(…))` looks the
    batch up by primary key (`IN (…)` may be planned as a hash join over the whole table).
    """
    since, params = ("AND timestamp >= %s", [after]) if after else ("", [])
    sql = f"""
        WITH gone AS (
            DELETE FROM {EVENTS} WHERE id = ANY(ARRAY(
                SELECT id FROM {EVENTS} WHERE product_id = %s {since} AND timestamp < %s
                 ORDER BY timestamp LIMIT %s))
            RETURNING timestamp
        )
        SELECT count(*), max(timestamp) FROM gone
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, [product_id, *params, cutoff, batch_size])
        removed, newest = cursor.fetchone()
    return removed, newest or after


def _delete_batch_sqlite(*, product_id: int, after: datetime | None, cutoff: datetime,
                         batch_size: int) -> tuple[int, datetime | None]:
    # SQLite removes index entries with the row, so restarting from the oldest costs nothing.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {EVENTS} WHERE id IN ("
                       f"SELECT id FROM {EVENTS} WHERE product_id = %s AND timestamp < %s LIMIT %s)",
                       [product_id, db_datetime(cutoff), batch_size])
        return cursor.rowcount, None
