"""Writes to the event store: ingest's inserts, and retention.

Retention deletes in bounded batches, each its own short transaction, so a large backlog never
holds locks or builds one huge transaction, and a run stopped half-way (time limit, deploy) keeps
what it did; the next run carries on. Each batch finds its rows through the (product, timestamp)
index. The events table is not partitioned: see README "Scheduled jobs" for why.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction

from apps.core import sql
from apps.events.models import Event
from apps.products.models import Product

# Events deleted per retention transaction.
DEFAULT_BATCH_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class EventRow:
    instance_pk: int | None
    kind: str
    name: str
    message_id: str
    timestamp: datetime
    properties: dict[str, Any]
    received_at: datetime | None = None  # when its request arrived; None: the call's `received_at`


def events_insert(*, product_id: int, rows: Sequence[EventRow], received_at: datetime) -> set[str]:
    """Insert events whose message id is new for the product; return the message ids actually stored.

    `ON CONFLICT DO NOTHING … RETURNING` makes the unique constraint the dedupe: a retried request,
    or two identical requests racing, store each message once and both learn which were new.
    `received_at` is the arrival time of rows that carry none of their own (a group commit stores
    several requests' rows together). Rows are sorted by message id so concurrent batches take index locks in one order.

    The events table has no foreign key constraints (apps/events/models.py): the statement holds
    the product's row with `FOR KEY SHARE` until commit, the lock a foreign key check would take,
    so the product cannot be deleted under it; a product deleted before stores nothing. The caller
    holds the instances the rows name (`instances_lock_or_create`, `instances_lookup`).
    """
    if not rows:
        return set()
    ordered = sorted(rows, key=lambda row: row.message_id)
    if len(ordered) >= UNNEST_MIN_ROWS and sql.binds_server_side():
        return _insert_unnest(product_id, ordered, received_at)
    columns = ", ".join(sql.column(name) for name in (
        "product_id", "instance_id", "kind", "name", "message_id", "timestamp", "received_at", "properties"))
    placeholders = (f"{sql.cast('%s', 'bigint')}, %s, %s, %s, {sql.cast('%s', 'timestamptz')}, "
                    f"{sql.cast('%s', 'timestamptz')}, {sql.cast('%s', 'jsonb')}")
    stored: set[str] = set()
    with connection.cursor() as cursor:
        for chunk in sql.chunks(ordered, 7):
            params: list[Any] = [product_id]
            for row in chunk:
                params += [row.instance_pk, row.kind, row.name, row.message_id, sql.dt_param(row.timestamp),
                           sql.dt_param(row.received_at or received_at), sql.json_param(row.properties)]
            # `WHERE true`: SQLite needs it to read ON CONFLICT after INSERT … SELECT … FROM.
            cursor.execute(
                f"WITH p AS ({_product_held()}) INSERT INTO {sql.table(Event)} ({columns}) "
                f"SELECT p.id, v.* FROM p CROSS JOIN (VALUES {sql.values_rows(len(chunk), placeholders)}) AS v "
                f"WHERE true ON CONFLICT (product_id, message_id) DO NOTHING RETURNING message_id",
                params,
            )
            stored.update(message_id for (message_id,) in cursor.fetchall())
    return stored


def _product_held(placeholder: str = "%s", *, postgres: bool | None = None) -> str:
    """The product's row, held until commit (SQLite runs one writer at a time anyway)."""
    held = f"SELECT id FROM {Product._meta.db_table} WHERE id = {placeholder}"
    return f"{held} FOR KEY SHARE" if (sql.is_postgres() if postgres is None else postgres) else held


# Performance: on PostgreSQL a batch goes in as one statement whose text never changes,
# with one binary array per column (`%b`), instead of a VALUES list of 8 x n parameters: a third
# of the client CPU and less server CPU (it needs server-side binding: settings, DATABASES).
# Below UNNEST_MIN_ROWS (a heartbeat is one row) the VALUES list costs PostgreSQL less than
# unpacking eight arrays (about 0.25 against 0.4 ms of server CPU for one row); from 7 rows on
# (56 parameters) psycopg would parse the VALUES text again in Python on every call (it caches
# statements of at most 50 parameters), which costs more than that (a group commit of heartbeats).
UNNEST_MIN_ROWS = 7
_UNNEST_INSERT = f"""
    WITH p AS ({_product_held("%b", postgres=True)})
    INSERT INTO {Event._meta.db_table} (product_id, instance_id, kind, name, message_id, timestamp, received_at,
                                         properties)
    SELECT p.id, u.* FROM p CROSS JOIN unnest(%b::bigint[], %b::text[], %b::text[], %b::text[], %b::timestamptz[],
                                              %b::timestamptz[], %b::text[]::jsonb[]) AS u
    ON CONFLICT (product_id, message_id) DO NOTHING RETURNING message_id"""


def _insert_unnest(product_id: int, rows: Sequence[EventRow], received_at: datetime) -> set[str]:
    params = [
        product_id, [row.instance_pk for row in rows], [row.kind for row in rows], [row.name for row in rows],
        [row.message_id for row in rows], [row.timestamp for row in rows],
        [row.received_at or received_at for row in rows],
        [sql.json_param(row.properties) for row in rows],
    ]
    with connection.cursor() as cursor:
        cursor.execute(_UNNEST_INSERT, params)
        return {message_id for (message_id,) in cursor.fetchall()}


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
        delete_batch = _delete_batch_postgres if sql.is_postgres() else _delete_batch_sqlite
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
    statement = f"""
        WITH gone AS (
            DELETE FROM {sql.table(Event)} WHERE id = ANY(ARRAY(
                SELECT id FROM {sql.table(Event)} WHERE product_id = %s {since} AND timestamp < %s
                 ORDER BY timestamp LIMIT %s))
            RETURNING timestamp
        )
        SELECT count(*), max(timestamp) FROM gone
    """
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, [product_id, *params, cutoff, batch_size])
        removed, newest = cursor.fetchone()
    return removed, newest or after


def _delete_batch_sqlite(*, product_id: int, after: datetime | None, cutoff: datetime,
                         batch_size: int) -> tuple[int, datetime | None]:
    # SQLite removes index entries with the row, so restarting from the oldest costs nothing.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {sql.table(Event)} WHERE id IN ("
                       f"SELECT id FROM {sql.table(Event)} WHERE product_id = %s AND timestamp < %s LIMIT %s)",
                       [product_id, sql.dt_param(cutoff), batch_size])
        return cursor.rowcount, None
