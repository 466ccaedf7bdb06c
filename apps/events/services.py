"""Writes over many events. Retention: events older than their product's retention are deleted.

Deletes run in bounded batches, each its own short transaction, so a large backlog never holds
locks or builds one huge transaction, and a run stopped half-way (time limit, deploy) keeps what
it did; the next run carries on. Each batch finds its rows through the (product, timestamp) index.
The events table is not partitioned: see README "Scheduled jobs" for why.
"""

from collections.abc import Callable
from datetime import datetime

from django.db import connection, transaction

from apps.core.sqltime import db_datetime
from apps.events.models import Event
from apps.products.models import Product

DEFAULT_BATCH_SIZE = 5_000
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
        cutoff = db_datetime(product.retention_cutoff(now))
        while True:
            removed = _delete_batch(product_id=product.pk, cutoff=cutoff, batch_size=batch_size)
            deleted += removed
            if progress and removed:
                progress(removed)
            if removed < batch_size:
                break
    return deleted


def _delete_batch(*, product_id: int, cutoff: object, batch_size: int) -> int:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {EVENTS} WHERE id IN ("
            f"SELECT id FROM {EVENTS} WHERE product_id = %s AND timestamp < %s LIMIT %s)",
            [product_id, cutoff, batch_size],
        )
        return cursor.rowcount
