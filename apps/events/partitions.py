"""PostgreSQL: the events table partitioned by UTC day of `received_at`.

Why `received_at`: it is the server's clock, so every insert lands in today's partition, created
days ahead; the client `timestamp` can lie years in the past. Retention stays defined on
`timestamp`, and the two are tied: the pipeline clamps a timestamp to at most MAX_FUTURE after
its `received_at`, so a partition whose days all end MAX_FUTURE before the oldest time any product
keeps holds only expired events and is dropped whole. Rows outside every dated partition (the
ensure job did not run, or a partition was just dropped) go to the DEFAULT partition: no insert
ever fails for lack of a partition. The retention's bounded deletes reach them like any row.

Every statement here is DDL or bulk copying run by scheduled jobs or a command, never by ingest.
Locks: creating a partition moves any rows of its day out of the DEFAULT partition and attaches it
(SHARE UPDATE EXCLUSIVE on the parent: ingest keeps writing); dropping one takes the parent's
ACCESS EXCLUSIVE lock for an instant, with a lock timeout so it never queues ingest behind a long
read (the next run retries). Two jobs at once serialise on a transaction-scoped advisory lock
(no session state: safe behind a transaction-pooling PgBouncer).
"""

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import Max
from django.utils import timezone

from apps.core import sql
from apps.core.timeutil import MAX_FUTURE
from apps.events.models import Event, EventMessageId
from apps.products.models import Product

TABLE = Event._meta.db_table
DEFAULT_PARTITION = f"{TABLE}_default"
# Partitions exist this many days ahead: the hourly ensure job can be down for a week before rows
# fall back to the DEFAULT partition (still stored, only not dropped whole later).
DAYS_AHEAD = 7
LOCK_TIMEOUT = "5s"
# pg_advisory_xact_lock key shared by every job that changes the partitions ("events" in ASCII).
_LOCK_KEY = 0x6576656E7473
_NAME = re.compile(rf"^{TABLE}_p(\d{{8}})$")
# During the in-place conversion: the partitioned table being filled beside the plain one.
CONVERTING = f"{TABLE}_partitioned"


def partition_name(day: date) -> str:
    return f"{TABLE}_p{day:%Y%m%d}"


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def is_partitioned(table: str = TABLE) -> bool:
    if not sql.is_postgres():
        return False
    with connection.cursor() as cursor:
        cursor.execute("SELECT relkind FROM pg_class WHERE oid = to_regclass(%s)", [table])
        found = cursor.fetchone()
    return bool(found and found[0] == "p")


def day_partitions(table: str = TABLE) -> dict[date, str]:
    """The dated partitions of `table`, by day."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                       "WHERE i.inhparent = to_regclass(%s)", [table])
        names = [name for (name,) in cursor.fetchall()]
    found = {}
    for name in names:
        if match := _NAME.match(name):
            found[datetime.strptime(match.group(1), "%Y%m%d").date()] = name
    return found


def retention_horizon(now: datetime) -> datetime | None:
    """Events received before this are past every product's retention (None: no product keeps any)."""
    longest = Product.objects.aggregate(days=Max("retention_days"))["days"]
    if longest is None:
        return None
    return now - timedelta(days=longest) - MAX_FUTURE


def _locked(cursor: CursorWrapper) -> None:
    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
    cursor.execute(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT}'")


def _literal(moment: datetime) -> str:
    # DDL takes no parameters; the bounds are our own UTC datetimes.
    return f"'{moment.isoformat()}'"


def partitions_ensure(*, now: datetime, days_ahead: int = DAYS_AHEAD, days_back: int = 0,
                      table: str = TABLE) -> list[str]:
    """Create the day partitions from `days_back` days before `now` to `days_ahead` after; returns those created.

    Idempotent: an existing partition is left alone, and two runs at once serialise.
    """
    if not is_partitioned(table):
        return []
    today = now.astimezone(UTC).date()
    existing = day_partitions(table)
    created = []
    for offset in range(-days_back, days_ahead + 1):
        day = today + timedelta(days=offset)
        if day not in existing and _create_day(day, table):
            created.append(partition_name(day))
    return created


def _create_day(day: date, table: str) -> bool:
    name, (start, end) = partition_name(day), day_bounds(day)
    with transaction.atomic(), connection.cursor() as cursor:
        _locked(cursor)
        cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
        if cursor.fetchone()[0]:
            return False  # another run made it
        if start <= timezone.now():
            # Rows of this day may be arriving: an insert planned before the attach would route
            # them to the DEFAULT partition and fail its new constraint. Holding the parent
            # against writers for the instant of the attach makes every insert see one or the other.
            cursor.execute(f'LOCK TABLE "{table}" IN SHARE ROW EXCLUSIVE MODE')
        # Built beside and attached, so the rows of that day already in the DEFAULT partition
        # move into it (attaching over them would fail) in the same transaction.
        cursor.execute(f'CREATE TABLE "{name}" (LIKE "{table}")')
        cursor.execute(f'WITH moved AS (DELETE FROM "{DEFAULT_PARTITION}" WHERE received_at >= %s '
                       f'AND received_at < %s RETURNING *) INSERT INTO "{name}" SELECT * FROM moved', [start, end])
        cursor.execute(f'ALTER TABLE "{table}" ATTACH PARTITION "{name}" '
                       f"FOR VALUES FROM ({_literal(start)}) TO ({_literal(end)})")
    return True


def partitions_drop_expired(*, now: datetime, progress: Callable[[int], object] | None = None) -> int:
    """Drop every day partition whose events are all past every product's retention; returns their rows."""
    horizon = retention_horizon(now)
    if horizon is None or not is_partitioned():
        return 0
    dropped = 0
    for day, name in sorted(day_partitions().items()):
        if day_bounds(day)[1] > horizon:
            break
        with transaction.atomic(), connection.cursor() as cursor:
            _locked(cursor)
            cursor.execute("SELECT to_regclass(%s) IS NOT NULL", [name])
            if not cursor.fetchone()[0]:
                continue  # another run dropped it
            cursor.execute(f'SELECT count(*) FROM "{name}"')
            rows = cursor.fetchone()[0]
            cursor.execute(f'DROP TABLE "{name}"')
        dropped += rows
        if progress and rows:
            progress(rows)
    return dropped


def message_ids_prune(*, now: datetime, batch_size: int) -> int:
    """Forget the message ids of events past every product's retention, in bounded batches.

    Every event still kept was received after the horizon (see the module's docstring), so the
    dedupe stays exact for all of them; the table holds no more than the longest retention.
    """
    horizon = retention_horizon(now)
    if horizon is None:
        return 0
    table = sql.table(EventMessageId)
    # Each batch by row address (a TID scan; SQLite's rowid): matching the key back instead makes
    # PostgreSQL hash the whole table for every batch.
    oldest = f"FROM {table} WHERE received_at < %s LIMIT %s"
    statement = (f"DELETE FROM {table} WHERE ctid = ANY(ARRAY(SELECT ctid {oldest}))" if sql.is_postgres()
                 else f"DELETE FROM {table} WHERE rowid IN (SELECT rowid {oldest})")
    pruned = 0
    while True:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [sql.dt_param(horizon), batch_size])
            removed = cursor.rowcount
        pruned += removed
        if removed < batch_size:
            return pruned


# --- converting a plain events table in place ------------------------------------------------
# The partitioned table is built beside the plain one under CONVERTING. Two statement-level
# triggers on the plain table repeat every insert and delete on it from the moment they exist
# (creating them waits for the inserts in flight, so nothing committed earlier escapes the copy);
# the copy then goes through the rows that existed before, in bounded batches by id, each batch
# also filling the message-id table. Each batch holds its rows `FOR KEY SHARE` while it copies
# them, so a delete racing the copy waits and its trigger then finds the copy to delete. The swap
# is one short transaction: lock the plain table, drop the triggers, rename, drop the plain table.
# A conversion stopped half-way resumes where the copy stands (every write is ON CONFLICT DO NOTHING).

_INSERT_FN, _DELETE_FN = f"{TABLE}_conversion_insert", f"{TABLE}_conversion_delete"


def _prepare_conversion(cursor: CursorWrapper, now: datetime) -> None:
    run = cursor.execute
    run(f'CREATE TABLE IF NOT EXISTS "{CONVERTING}" (LIKE "{TABLE}" INCLUDING DEFAULTS INCLUDING IDENTITY) '
        f"PARTITION BY RANGE (received_at)")
    run("SELECT 1 FROM pg_constraint WHERE conrelid = to_regclass(%s) AND contype = 'p'", [CONVERTING])
    if not cursor.fetchone():
        run(f'ALTER TABLE "{CONVERTING}" ADD CONSTRAINT "{CONVERTING}_pkey" PRIMARY KEY (id, received_at)')
    for index, columns in _INDEXES.items():
        run(f'CREATE INDEX IF NOT EXISTS "{index}_p" ON "{CONVERTING}" ({columns})')
    run(f'CREATE TABLE IF NOT EXISTS "{DEFAULT_PARTITION}" PARTITION OF "{CONVERTING}" DEFAULT')
    # Day partitions from the oldest event any product keeps (older rows wait in the DEFAULT
    # partition for the retention's deletes) to the usual days ahead, before any trigger writes.
    run(f'SELECT min(received_at) FROM "{TABLE}"')
    oldest = cursor.fetchone()[0] or now
    first_day = max(oldest, (retention_horizon(now) or now) - timedelta(days=1))
    partitions_ensure(now=now, days_back=max(0, (now - first_day).days + 1), table=CONVERTING)
    run(f"""CREATE OR REPLACE FUNCTION "{_INSERT_FN}"() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN INSERT INTO "{CONVERTING}" SELECT * FROM fresh ON CONFLICT DO NOTHING; RETURN NULL; END $$""")
    run(f"""CREATE OR REPLACE FUNCTION "{_DELETE_FN}"() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN DELETE FROM "{CONVERTING}" c USING gone g WHERE c.id = g.id AND c.received_at = g.received_at;
            RETURN NULL; END $$""")
    run(f'CREATE OR REPLACE TRIGGER "{_INSERT_FN}" AFTER INSERT ON "{TABLE}" REFERENCING NEW TABLE AS fresh '
        f'FOR EACH STATEMENT EXECUTE FUNCTION "{_INSERT_FN}"()')
    run(f'CREATE OR REPLACE TRIGGER "{_DELETE_FN}" AFTER DELETE ON "{TABLE}" REFERENCING OLD TABLE AS gone '
        f'FOR EACH STATEMENT EXECUTE FUNCTION "{_DELETE_FN}"()')


# The plain table's secondary indexes, recreated on the partitioned one (apps/events/models.py).
_INDEXES = {"event_product_time": "product_id, timestamp", "event_instance_time": "instance_id, timestamp"}


def _copy_batch(cursor: CursorWrapper, after: int, upto: int) -> int:
    run = cursor.execute
    run(f"INSERT INTO {sql.table(EventMessageId)} (product_id, message_id, received_at) "
        f'SELECT product_id, message_id, received_at FROM "{TABLE}" WHERE id > %s AND id <= %s '
        f"ON CONFLICT (product_id, message_id) DO NOTHING", [after, upto])
    run(f'INSERT INTO "{CONVERTING}" SELECT * FROM (SELECT * FROM "{TABLE}" WHERE id > %s AND id <= %s '
        f"FOR KEY SHARE) AS batch ON CONFLICT DO NOTHING", [after, upto])
    return int(cursor.rowcount)


def _swap(cursor: CursorWrapper) -> None:
    run = cursor.execute
    run(f'LOCK TABLE "{TABLE}" IN ACCESS EXCLUSIVE MODE')
    run(f'DROP TRIGGER "{_INSERT_FN}" ON "{TABLE}"')
    run(f'DROP TRIGGER "{_DELETE_FN}" ON "{TABLE}"')
    run(f'DROP FUNCTION "{_INSERT_FN}"()')
    run(f'DROP FUNCTION "{_DELETE_FN}"()')
    # Ids go on from where the plain table's sequence stands (nothing can take one now).
    run(f"SELECT setval(pg_get_serial_sequence(%s, 'id'), GREATEST("
        f"(SELECT last_value FROM {_sequence(cursor, TABLE)}), (SELECT COALESCE(max(id), 0) FROM \"{TABLE}\"), 1))",
        [f'"{CONVERTING}"'])
    sequence = _sequence(cursor, CONVERTING)
    run(f'DROP TABLE "{TABLE}"')
    run(f'ALTER TABLE "{CONVERTING}" RENAME TO "{TABLE}"')
    run(f'ALTER TABLE "{TABLE}" RENAME CONSTRAINT "{CONVERTING}_pkey" TO "{TABLE}_pkey"')
    run(f'ALTER SEQUENCE {sequence} RENAME TO "{TABLE}_id_seq"')
    for index in _INDEXES:
        run(f'ALTER INDEX "{index}_p" RENAME TO "{index}"')


def _sequence(cursor: CursorWrapper, table: str) -> str:
    cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [f'"{table}"'])
    return str(cursor.fetchone()[0])


def events_partition_in_place(*, now: datetime, batch_size: int = 50_000,
                              progress: Callable[[int], object] | None = None) -> int:
    """Convert a plain events table into the partitioned one with ingest running; returns rows copied.

    Does nothing on SQLite or when the table is already partitioned. Each batch is its own
    transaction unless the caller holds one (the migration converts a small table in one go).
    """
    if not sql.is_postgres() or is_partitioned():
        return 0
    with transaction.atomic(), connection.cursor() as cursor:
        _locked(cursor)
        _prepare_conversion(cursor, now)
        cursor.execute(f'SELECT COALESCE(max(id), 0) FROM "{TABLE}"')
        last_id = cursor.fetchone()[0]
    copied, after = 0, 0
    while after < last_id:
        upto = min(after + batch_size, last_id)
        with transaction.atomic(), connection.cursor() as cursor:
            count = _copy_batch(cursor, after, upto)
        copied += count
        if progress and count:
            progress(count)
        after = upto
    with transaction.atomic(), connection.cursor() as cursor:
        _locked(cursor)
        _swap(cursor)
    return copied
