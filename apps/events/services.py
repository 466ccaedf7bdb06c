"""Writes to the event store: ingest's inserts, and retention.

Retention deletes in bounded batches, each its own short transaction, so a large backlog never
holds locks or builds one huge transaction, and a run stopped half-way (time limit, deploy) keeps
what it did; the next run carries on. Each batch finds its rows through the (product, timestamp)
index. On PostgreSQL whole days go first as partitions (apps/events/partitions.py).
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection, transaction

from apps.core import sql
from apps.events import partitions
from apps.events.models import Event, EventMessageId
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

    The message-id table's key is the dedupe: each row's id goes in with `ON CONFLICT DO NOTHING
    … RETURNING`, and only the ids it returns go on into the events table, in the same statement
    on PostgreSQL (SQLite, which has no INSERT inside WITH, runs the two in one transaction). A
    retried request, or two identical requests racing, store each message once and both learn
    which were new. The events insert keeps a bare `ON CONFLICT DO NOTHING`: on a table not yet
    partitioned (apps/events/partitions.py) whose old rows' ids are not yet in the id table, the
    old unique constraint still decides. `received_at` is the arrival time of rows that carry none
    of their own (a group commit stores several requests' rows together). Rows are sorted by
    message id so concurrent batches take index locks in one order.

    The events table has no foreign key constraints (apps/events/models.py): the statement holds
    the product's row with `FOR KEY SHARE` until commit, the lock a foreign key check would take,
    so the product cannot be deleted under it; a product deleted before stores nothing. The caller
    holds the instances the rows name (`instances_lock_or_create`, `instances_lookup`).
    """
    if not rows:
        return set()
    ordered = _first_of_each_message(rows)
    if not sql.is_postgres():
        return _insert_sqlite(product_id, ordered, received_at)
    if len(ordered) >= UNNEST_MIN_ROWS and sql.binds_server_side():
        return _insert_unnest(product_id, ordered, received_at)
    placeholders = ("CAST(%s AS bigint), %s, %s, %s, CAST(%s AS timestamptz), CAST(%s AS timestamptz), "
                    "CAST(%s AS jsonb)")
    stored: set[str] = set()
    with connection.cursor() as cursor:
        for chunk in sql.chunks(ordered, 7):
            cursor.execute(_VALUES_INSERT.replace("{values}", sql.values_rows(len(chunk), placeholders)),
                           [product_id, *_values_params(chunk, received_at)])
            stored.update(message_id for (message_id,) in cursor.fetchall())
    return stored


def _first_of_each_message(rows: Sequence[EventRow]) -> list[EventRow]:
    """Sorted by message id, one row per id: a statement inserts each key once (the first row wins)."""
    ordered = sorted(rows, key=lambda row: row.message_id)
    return [row for n, row in enumerate(ordered) if n == 0 or ordered[n - 1].message_id != row.message_id]


def _values_params(rows: Sequence[EventRow], received_at: datetime) -> list[Any]:
    params: list[Any] = []
    for row in rows:
        params += [row.instance_pk, row.kind, row.name, row.message_id, sql.dt_param(row.timestamp),
                   sql.dt_param(row.received_at or received_at), sql.json_param(row.properties)]
    return params


def _product_held(placeholder: str = "%s", *, postgres: bool | None = None) -> str:
    """The product's row, held until commit (SQLite runs one writer at a time anyway)."""
    held = f"SELECT id FROM {Product._meta.db_table} WHERE id = {placeholder}"
    return f"{held} FOR KEY SHARE" if (sql.is_postgres() if postgres is None else postgres) else held


_COLUMNS = "instance_id, kind, name, message_id, timestamp, received_at, properties"
_IDS = EventMessageId._meta.db_table


def _cte_insert(rows_source: str, placeholder: str) -> str:
    """The PostgreSQL statement: new message ids first, then the events of exactly those ids."""
    return f"""
    WITH p AS ({_product_held(placeholder, postgres=True)}),
    v({_COLUMNS}) AS ({rows_source}),
    fresh AS (
        INSERT INTO {_IDS} (product_id, message_id, received_at)
        SELECT p.id, v.message_id, v.received_at FROM p CROSS JOIN v
        ON CONFLICT (product_id, message_id) DO NOTHING RETURNING message_id
    )
    INSERT INTO {Event._meta.db_table} (product_id, {_COLUMNS})
    SELECT p.id, v.* FROM p CROSS JOIN v JOIN fresh ON fresh.message_id = v.message_id
    ON CONFLICT DO NOTHING RETURNING message_id"""


_VALUES_INSERT = _cte_insert("VALUES {values}", "%s")


def _insert_sqlite(product_id: int, rows: Sequence[EventRow], received_at: datetime) -> set[str]:
    ids, events = sql.table(EventMessageId), sql.table(Event)
    stored: set[str] = set()
    with transaction.atomic(), connection.cursor() as cursor:
        for chunk in sql.chunks(rows, 7):
            # `WHERE true`: SQLite needs it to read ON CONFLICT after INSERT … SELECT … FROM.
            cursor.execute(
                f"INSERT INTO {ids} (product_id, message_id, received_at) "
                f"SELECT p.id, v.column1, v.column2 FROM ({_product_held()}) AS p "
                f"CROSS JOIN (VALUES {sql.values_rows(len(chunk), '%s, %s')}) AS v "
                f"WHERE true ON CONFLICT (product_id, message_id) DO NOTHING RETURNING message_id",
                [product_id, *[value for row in chunk
                               for value in (row.message_id, sql.dt_param(row.received_at or received_at))]],
            )
            fresh = {message_id for (message_id,) in cursor.fetchall()}
            new = [row for row in chunk if row.message_id in fresh]
            if not new:
                continue
            cursor.execute(
                f"INSERT INTO {events} (product_id, {_COLUMNS}) "
                f"SELECT %s, v.* FROM (VALUES {sql.values_rows(len(new), '%s, %s, %s, %s, %s, %s, %s')}) AS v",
                [product_id, *_values_params(new, received_at)],
            )
            stored |= fresh
    return stored


# Performance: on PostgreSQL a batch goes in as one statement whose text never changes,
# with one binary array per column (`%b`), instead of a VALUES list of 8 x n parameters: a third
# of the client CPU and less server CPU (it needs server-side binding: settings, DATABASES).
# Below UNNEST_MIN_ROWS (a heartbeat is one row) the VALUES list costs PostgreSQL less than
# unpacking eight arrays (about 0.25 against 0.4 ms of server CPU for one row); from 7 rows on
# (56 parameters) psycopg would parse the VALUES text again in Python on every call (it caches
# statements of at most 50 parameters), which costs more than that (a group commit of heartbeats).
UNNEST_MIN_ROWS = 7
_UNNEST_INSERT = _cte_insert(
    "SELECT * FROM unnest(%b::bigint[], %b::text[], %b::text[], %b::text[], %b::timestamptz[], "
    "%b::timestamptz[], %b::text[]::jsonb[])", "%b")


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
                         progress: Callable[[int], object] | None = None) -> int:
    """Delete every event whose timestamp is older than its product's retention; returns how many.

    On a partitioned table (PostgreSQL) the days past every product's retention go first, a whole
    partition each; the bounded deletes then take what a shorter retention expires in the days
    still kept, and the message ids past every retention are forgotten. Without `product_ids`
    only: dropping a partition removes every product's rows.
    """
    deleted = 0 if product_ids is not None else partitions.partitions_drop_expired(now=now, progress=progress)
    products = Product.objects.order_by("pk")
    if product_ids is not None:
        products = products.filter(pk__in=product_ids)
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
    if product_ids is None:
        partitions.message_ids_prune(now=now, batch_size=batch_size)
    return deleted


def _delete_batch_postgres(*, product_id: int, after: datetime | None, cutoff: datetime,
                           batch_size: int) -> tuple[int, datetime | None]:
    """Delete the oldest batch at or after `after`; returns (rows deleted, newest timestamp deleted).

    Starting each batch where the previous one ended keeps the index scan from wading again
    through the entries of rows already deleted but not yet vacuumed. The batch is first measured
    (its timestamp and received_at ranges), then deleted by those ranges: the received_at range
    names the one or two partitions that hold it, so the DELETE touches only those (joining the
    batch back by id would hash every partition of the table). Rows tied on the last timestamp
    may go with the batch or with the next one.
    """
    since, params = ("AND timestamp >= %s", [after]) if after else ("", [])
    table = sql.table(Event)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"""
            SELECT min(timestamp), max(timestamp), min(received_at), max(received_at) FROM (
                SELECT timestamp, received_at FROM {table} WHERE product_id = %s {since} AND timestamp < %s
                 ORDER BY timestamp LIMIT %s) AS batch""",
                       [product_id, *params, cutoff, batch_size])
        oldest, newest, first_received, last_received = cursor.fetchone()
        if newest is None:
            return 0, after
        cursor.execute(f"DELETE FROM {table} WHERE product_id = %s AND timestamp >= %s AND timestamp <= %s "
                       f"AND timestamp < %s AND received_at >= %s AND received_at <= %s",
                       [product_id, oldest, newest, cutoff, first_received, last_received])
        return cursor.rowcount, newest


def _delete_batch_sqlite(*, product_id: int, after: datetime | None, cutoff: datetime,
                         batch_size: int) -> tuple[int, datetime | None]:
    # SQLite removes index entries with the row, so restarting from the oldest costs nothing.
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {sql.table(Event)} WHERE id IN ("
                       f"SELECT id FROM {sql.table(Event)} WHERE product_id = %s AND timestamp < %s LIMIT %s)",
                       [product_id, sql.dt_param(cutoff), batch_size])
        return cursor.rowcount, None
