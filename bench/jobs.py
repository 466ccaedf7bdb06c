"""Benchmark of the scheduled jobs on PostgreSQL: 1,000,000 instances, 10,000,000 events.

    createdb telemetry_bench
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/telemetry_bench .venv/bin/python bench/jobs.py

The database (BENCH_DATABASE_URL, never DATABASE_URL, so a real database is not wiped by
accident) must exist and is emptied; the script refuses one holding non-bench products.
The fleet is generated inside PostgreSQL with generate_series (secondary indexes and
constraints are dropped for the load and rebuilt after), then each job is timed next to the
equivalent hand-written SQL in the same run, best of --rounds, with the state reset between runs:

- heartbeat check with 1% of the fleet flipping to stale  vs  the bare UPDATE … WHERE statements;
- one day's rollup (all products, rollup + breakdowns)     vs  the bare SELECT … GROUP BY queries;
- retention of one day: dropping its partition            vs  the bounded deletes of the
  unpartitioned design (the next day's events, in batches of 10,000), and the message-id pruning.

Goals: staleness ≤ 2x raw and < 5 s; rollup ≤ 1.5x raw; the process's peak RSS does not grow
with the fleet (no per-row Python).
"""

import argparse
import os
import resource
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "telemetry_site.settings.base")
os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/telemetry_bench")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from apps.events import partitions  # noqa: E402
from apps.events.models import Event, EventMessageId  # noqa: E402
from apps.events.services import DEFAULT_BATCH_SIZE, events_purge_expired  # noqa: E402
from apps.instances.models import Instance, StatusChange  # noqa: E402
from apps.instances.services import instances_check_heartbeats  # noqa: E402
from apps.licenses.models import License  # noqa: E402
from apps.products.models import Product  # noqa: E402
from apps.rollups.models import DailyRollup  # noqa: E402
from apps.rollups.services import day_bounds, rollups_build  # noqa: E402

INSTANCES = Instance._meta.db_table
EVENTS = Event._meta.db_table
CHANGES = StatusChange._meta.db_table
# Heartbeat intervals of the simulated products (Appsmith 2 h, an older Appsmith 6 h, FlowFuse and Hasura 24 h).
INTERVALS = [2 * 3600, 6 * 3600, 24 * 3600, 24 * 3600]
DAYS_OF_EVENTS = 30
FLIP_BUCKET = 85  # instances with (id / 4) % 100 == 85 are the 1% that went silent just past the threshold


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def sql(statement: str, params: list | dict | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.rowcount


def scalar(statement: str, params: list | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchone()[0]


def timed(label: str, work: Callable[[], object]) -> float:
    start = time.perf_counter()
    work()
    elapsed = time.perf_counter() - start
    print(f"  {label:<58} {elapsed:8.2f} s", flush=True)
    return elapsed


# --- load ------------------------------------------------------------------------------------

def secondary_objects(table: str) -> tuple[list[tuple[str, str]], list[str]]:
    """(name, definition) of unique/foreign-key constraints, and CREATE INDEX statements of plain indexes."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
                       "WHERE conrelid = %s::regclass AND contype IN ('u', 'f')", [table])
        constraints = cursor.fetchall()
        cursor.execute("SELECT indexdef FROM pg_indexes WHERE tablename = %s AND indexname NOT IN "
                       "(SELECT conname FROM pg_constraint WHERE conrelid = %s::regclass)", [table, table])
        indexes = [row[0] for row in cursor.fetchall()]
    return constraints, indexes


def drop_secondary(table: str) -> tuple[list[tuple[str, str]], list[str]]:
    constraints, indexes = secondary_objects(table)
    for name, _ in constraints:
        sql(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for definition in indexes:
        sql(f"DROP INDEX {definition.split(' INDEX ', 1)[1].split(' ON ', 1)[0]}")
    return constraints, indexes


def restore_secondary(table: str, saved: tuple[list[tuple[str, str]], list[str]]) -> None:
    constraints, indexes = saved
    for definition in indexes:
        sql(definition)
    for name, definition in constraints:
        # Foreign keys are re-added without re-checking the generated rows (they are consistent by
        # construction); every later write is checked as usual.
        not_valid = " NOT VALID" if definition.startswith("FOREIGN KEY") else ""
        sql(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}{not_valid}')


def load(now: datetime, n_instances: int, n_events: int) -> None:
    print(f"Loading {n_instances:,} instances and {n_events:,} events (generate_series)…", flush=True)
    sql("TRUNCATE products_product, instances_instance, instances_statuschange, events_event, "
        "event_message_ids, licenses_license, rollups_dailyrollup, rollups_dailybreakdown, rollups_report, "
        "instances_installation "
        "RESTART IDENTITY CASCADE")
    products = [Product.objects.create(slug=f"bench-{n}", name=f"Bench {n}", heartbeat_interval=interval)
                for n, interval in enumerate(INTERVALS)]
    ids = [p.pk for p in products]
    stale = [p.stale_after_seconds for p in products]
    dead = [p.dead_after for p in products]
    sql("SET synchronous_commit = off")
    sql("SET maintenance_work_mem = '512MB'")
    sql(f"""INSERT INTO {License._meta.db_table} (product_id, license_id, type, first_seen, last_seen,
                                                  created_at, updated_at)
            SELECT (%s::bigint[])[mod(g, 4) + 1], 'lic-' || g, (ARRAY['enterprise', 'starter', 'trial'])[mod(g, 3) + 1],
                   %s, %s, %s, %s
              FROM generate_series(1, 10000) AS g""", [ids, now, now, now, now])
    # A day partition for every day of the generated events (plus the DEFAULT one for the rest).
    partitions.partitions_ensure(now=now, days_back=DAYS_OF_EVENTS + 1)
    saved = {table: drop_secondary(table) for table in (INSTANCES, EVENTS)}
    # Product of instance g is ids[g % 4]; its status bucket is (g / 4) % 100 (85: 1% about to flip).
    timed("instances", lambda: sql(f"""
        INSERT INTO {INSTANCES} (id, product_id, instance_id, first_seen, last_seen, version, edition, os, arch,
                                 context, status, status_changed_at, collection, metrics, ip_hash, license_id,
                                 heartbeat_count, dropped_count, created_at, updated_at)
        SELECT g, (%(ids)s::bigint[])[mod(g, 4) + 1], 'instance-' || g,
               seen - random() * interval '90 days', seen,
               '1.' || (mod(g, 10)), (ARRAY['CE', 'EE', 'Business'])[mod(g, 3) + 1],
               (ARRAY['linux', 'darwin', 'windows'])[mod(g, 3) + 1], 'x86_64', '',
               CASE WHEN mod(g / 4, 100) < 86 THEN 'active' WHEN mod(g / 4, 100) < 95 THEN 'stale' ELSE 'dead' END,
               NULL, 'full', '{{}}', '', CASE WHEN mod(g, 10) = 0 THEN mod(g / 10, 10000) + 1 END, 0, 0,
               %(now)s, %(now)s
          FROM (SELECT g, %(now)s - make_interval(secs => CASE
                    WHEN mod(g / 4, 100) < 85 THEN random() * 0.9 * (%(stale)s::int[])[mod(g, 4) + 1]
                    WHEN mod(g / 4, 100) = 85 THEN (%(stale)s::int[])[mod(g, 4) + 1] + 1 + random() * 600
                    WHEN mod(g / 4, 100) < 95 THEN (%(stale)s::int[])[mod(g, 4) + 1] + 3600 + random() * 86400
                    ELSE (%(dead)s::int[])[mod(g, 4) + 1] + 3600 + random() * 30 * 86400 END) AS seen
                  FROM generate_series(1, %(n)s) AS g) AS s""",
        {"ids": ids, "now": now, "stale": stale, "dead": dead, "n": n_instances}))
    step = 1_000_000
    for first in range(1, n_events + 1, step):
        last = min(first + step - 1, n_events)
        # Instance i = a scramble of e; 70% heartbeats, 28% events (50 names), 2% install steps;
        # timestamps spread over the last 30 days in arrival order (ids grow with time, as with
        # real ingest), give or take an hour.
        timed(f"events {first:,} to {last:,}", partial(lambda first, last: sql(f"""
            INSERT INTO {EVENTS} (id, product_id, instance_id, kind, name, message_id, timestamp, received_at,
                                  properties)
            SELECT e, (%(ids)s::bigint[])[mod(i, 4) + 1], i,
                   CASE WHEN mod(e, 100) < 70 THEN 'heartbeat' WHEN mod(e, 100) < 98 THEN 'event' ELSE 'install' END,
                   CASE WHEN mod(e, 100) < 70 THEN 'FETCH_RELEASE_NOTES' WHEN mod(e, 100) < 98
                        THEN 'event_' || mod(e, 50)
                        ELSE 'Installation Started' END,
                   'm-' || e, ts, ts, '{{}}'
              FROM (SELECT e, mod(e * 7919, %(n_instances)s) + 1 AS i,
                           %(now)s - make_interval(secs => (%(n_events)s - e) * %(span)s / %(n_events)s
                                                            + mod(e * 2654435761, 3600)) AS ts
                      FROM generate_series(%(first)s::bigint, %(last)s::bigint) AS e) AS s""",
            {"ids": ids, "now": now, "n_instances": n_instances, "n_events": n_events,
             "span": DAYS_OF_EVENTS * 86400 - 3600,
             "first": first, "last": last}), first, last))
    timed("message ids", lambda: sql(f"INSERT INTO {EventMessageId._meta.db_table} "
                                     f"(product_id, message_id, received_at) "
                                     f"SELECT product_id, message_id, received_at FROM {EVENTS}"))
    for table in (INSTANCES, EVENTS):
        sql(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        timed(f"indexes and constraints of {table}", partial(restore_secondary, table, saved[table]))
    timed("VACUUM ANALYZE", lambda: [sql(f"VACUUM ANALYZE {t}") for t in (
        INSTANCES, EVENTS, License._meta.db_table, EventMessageId._meta.db_table)])


# --- staleness -------------------------------------------------------------------------------

def reset_flips() -> None:
    sql(f"DELETE FROM {CHANGES}")
    sql(f"UPDATE {INSTANCES} SET status = 'active', status_changed_at = NULL "
        f"WHERE mod(id / 4, 100) = {FLIP_BUCKET} AND status <> 'active'")
    sql(f"VACUUM ANALYZE {INSTANCES}")
    sql(f"VACUUM ANALYZE {CHANGES}")


def raw_staleness(now: datetime) -> int:
    """The bare statements: one UPDATE per product and transition, no audit rows, no chunks."""
    changed = 0
    for product in Product.objects.order_by("pk"):
        changed += sql(f"UPDATE {INSTANCES} SET status = 'stale', updated_at = %s, "
                       f"status_changed_at = last_seen + make_interval(secs => %s) "
                       f"WHERE product_id = %s AND status IN ('new', 'active') AND last_seen < %s",
                       [now, product.stale_after_seconds, product.pk, product.stale_threshold(now)])
        changed += sql(f"UPDATE {INSTANCES} SET status = 'dead', updated_at = %s, "
                       f"status_changed_at = last_seen + make_interval(secs => %s) "
                       f"WHERE product_id = %s AND status = 'stale' AND last_seen < %s",
                       [now, product.dead_after, product.pk, product.dead_threshold(now)])
    return changed


def bench_staleness(now: datetime, rounds: int, expected: int) -> tuple[float, float]:
    print(f"\nHeartbeat check ({expected:,} instances flip to stale):", flush=True)
    raw_times, job_times = [], []
    for n in range(rounds):
        reset_flips()
        raw_times.append(timed(f"raw UPDATE … WHERE (round {n + 1})", lambda: check(raw_staleness(now), expected)))
        reset_flips()
        job_times.append(timed(f"instances_check_heartbeats (round {n + 1})",
                               lambda: check(instances_check_heartbeats(now=now).stale, expected)))
        check(scalar(f"SELECT count(*) FROM {CHANGES}"), expected)
    return min(raw_times), min(job_times)


def check(got: int, expected: int) -> None:
    if got != expected:
        raise SystemExit(f"expected {expected} rows, got {got}")


# --- rollups ---------------------------------------------------------------------------------

RAW_ROLLUP = [
    f"""SELECT product_id, COUNT(DISTINCT instance_id) FILTER (WHERE kind = 'heartbeat'),
               COUNT(*) FILTER (WHERE kind = 'heartbeat'), COUNT(*) FILTER (WHERE kind = 'event')
          FROM {EVENTS} WHERE product_id = ANY(%(ids)s) AND timestamp >= %(s)s AND timestamp < %(e)s
         GROUP BY product_id""",
    f"""SELECT product_id, COUNT(*) FROM {INSTANCES} WHERE first_seen >= %(s)s AND first_seen < %(e)s
         GROUP BY product_id""",
    f"""SELECT i.product_id, COUNT(*) FILTER (WHERE c.new = 'stale'), COUNT(*) FILTER (WHERE c.new = 'dead'),
               COUNT(*) FILTER (WHERE c.new = 'active' AND c.old IN ('stale', 'dead'))
          FROM {CHANGES} c JOIN {INSTANCES} i ON i.id = c.instance_id WHERE c.at >= %(s)s AND c.at < %(e)s
         GROUP BY i.product_id""",
    """SELECT product_id, COUNT(*) FILTER (WHERE started_at >= %(s)s AND started_at < %(e)s)
         FROM instances_installation GROUP BY product_id""",
    f"""SELECT i.product_id, i.version, i.edition, i.os, COALESCE(l.type, ''), COUNT(*)
          FROM {INSTANCES} i LEFT JOIN licenses_license l ON l.id = i.license_id
         WHERE i.id IN (SELECT instance_id FROM {EVENTS} WHERE product_id = ANY(%(ids)s) AND kind = 'heartbeat'
                         AND timestamp >= %(s)s AND timestamp < %(e)s)
         GROUP BY GROUPING SETS ((i.product_id, i.version), (i.product_id, i.edition), (i.product_id, i.os),
                                 (i.product_id, COALESCE(l.type, '')))""",
    f"""SELECT product_id, name, COUNT(*), COUNT(DISTINCT instance_id) FROM {EVENTS}
         WHERE product_id = ANY(%(ids)s) AND kind = 'event' AND timestamp >= %(s)s AND timestamp < %(e)s
         GROUP BY product_id, name""",
]


def raw_rollup(day_start: datetime, ids: list[int]) -> dict[int, int]:
    """The bare GROUP BY reads; returns active instances per product, to check against the job."""
    params: dict[str, Any] = {"ids": ids, "s": day_start, "e": day_start + timedelta(days=1)}
    active: dict[int, int] = {}
    with connection.cursor() as cursor:
        for statement in RAW_ROLLUP:
            cursor.execute(statement, params)
            rows = cursor.fetchall()
            if not active:
                active = {row[0]: row[1] for row in rows}
    return active


def bench_rollup(now: datetime, rounds: int) -> tuple[float, float]:
    day = (now - timedelta(days=1)).date()
    start, _ = day_bounds(day)
    ids = list(Product.objects.order_by("pk").values_list("pk", flat=True))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {EVENTS} WHERE product_id = ANY(%s) AND timestamp >= %s "
                       f"AND timestamp < %s", [ids, start, start + timedelta(days=1)])
        events_that_day = cursor.fetchone()[0]
    print(f"\nRollup of {day} ({events_that_day:,} events, {len(ids)} products):", flush=True)
    raw_times, job_times = [], []
    active: dict[int, int] = {}
    for n in range(rounds):
        raw_times.append(timed(f"raw SELECT … GROUP BY (round {n + 1})",
                               lambda: active.update(raw_rollup(start, ids))))
        job_times.append(timed(f"rollups_build (round {n + 1})", lambda: rollups_build(days=[day], now=now)))
    stored = dict(DailyRollup.objects.filter(day=day).values_list("product_id", "active_instances"))
    if stored != active:
        raise SystemExit(f"rollup disagrees with the raw GROUP BY: {stored} != {active}")
    return min(raw_times), min(job_times)


# --- retention -------------------------------------------------------------------------------

def bench_purge(now: datetime) -> tuple[float, float, float, int, int]:
    """Retention of one day both ways: the oldest day's partition dropped, then the next day's events
    deleted by the bounded batches every purge ran before the table was partitioned."""
    if not partitions.is_partitioned():
        raise SystemExit("the events table is not partitioned: run manage.py events_partition first")
    filled = sorted(day for day, name in partitions.day_partitions().items()
                    if scalar(f'SELECT count(*) FROM "{name}"'))
    # The first day holds only its last hours: it goes untimed, the second (a whole day) is timed.
    first_end, oldest = partitions.day_bounds(filled[0])[1], filled[1]
    oldest_end = partitions.day_bounds(oldest)[1]
    Product.objects.update(retention_days=(now - timedelta(days=1) - first_end).days)
    partitions.partitions_drop_expired(now=now)
    # The longest retention that makes exactly the next day droppable (a day of clock clamping).
    retention = (now - timedelta(days=1) - oldest_end).days
    Product.objects.update(retention_days=retention)
    print(f"\nRetention of one day ({oldest} dropped, then {oldest + timedelta(days=1)} deleted in batches):",
          flush=True)
    dropped, deleted = [0], [0]
    drop = timed("partition drop (partitions_drop_expired)",
                 lambda: dropped.__setitem__(0, partitions.partitions_drop_expired(now=now)))
    ids = list(Product.objects.values_list("pk", flat=True))
    # The same cutoff one day later, for the bounded deletes alone (no drop: product_ids given).
    later = oldest_end + timedelta(days=1) + timedelta(days=retention)
    batches = timed(f"bounded deletes of the next day, batches of {DEFAULT_BATCH_SIZE:,}",
                    lambda: deleted.__setitem__(0, events_purge_expired(now=later, product_ids=ids)))
    prune = timed("message ids of the dropped day pruned, batches of 10,000",
                  lambda: partitions.message_ids_prune(now=now, batch_size=DEFAULT_BATCH_SIZE))
    return drop, batches, prune, dropped[0], deleted[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if connection.vendor != "postgresql":
        raise SystemExit("bench/jobs.py needs PostgreSQL: set DATABASE_URL=postgres://…")
    pg_version: int = connection.pg_version  # type: ignore[attr-defined]  # PostgreSQL's wrapper only
    print(f"Database: {connection.settings_dict['NAME']} on PostgreSQL {pg_version // 10000}, "
          f"{os.cpu_count()} CPU(s)")
    call_command("migrate", verbosity=0)
    if Product.objects.exclude(slug__startswith="bench-").exists():
        raise SystemExit("this database holds real products; point BENCH_DATABASE_URL at an empty database")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    load_start = time.perf_counter()
    load(now, args.instances, args.events)
    print(f"  {'load total':<58} {time.perf_counter() - load_start:8.2f} s")
    rss_start = peak_rss_mb()
    expected_flips = scalar(f"SELECT count(*) FROM {INSTANCES} WHERE mod(id / 4, 100) = {FLIP_BUCKET}")
    raw_s, job_s = bench_staleness(now, args.rounds, expected_flips)
    rss_staleness = peak_rss_mb()
    raw_r, job_r = bench_rollup(now, args.rounds)
    rss_rollup = peak_rss_mb()
    drop_p, batches_p, prune_p, dropped, deleted = bench_purge(now)
    rss_end = peak_rss_mb()

    print(f"\nResults (best of {args.rounds} rounds)")
    print(f"  {'':<28}{'job':>9}{'raw SQL':>10}{'ratio':>8}   goal")
    verdicts = [
        ("heartbeat check, 1% flip", job_s, raw_s, "≤ 2x raw and < 5 s", job_s <= 2 * raw_s and job_s < 5),
        ("rollup of one day", job_r, raw_r, "≤ 1.5x raw", job_r <= 1.5 * raw_r),
    ]
    for label, job, raw, goal, ok in verdicts:
        print(f"  {label:<28}{job:8.2f}s{raw:9.2f}s{job / raw:7.2f}x   {goal}: {'met' if ok else 'MISSED'}")
    print(f"  retention of one day: partition drop {drop_p:.2f} s ({dropped:,} events), bounded deletes "
          f"{batches_p:.2f} s ({deleted:,} events): the drop takes {drop_p / batches_p:.3f}x the deletes' time "
          f"(per event {(drop_p / max(dropped, 1)) / (batches_p / max(deleted, 1)):.3f}x); "
          f"pruning its message ids {prune_p:.2f} s")
    print(f"  peak RSS of this process: {rss_start:.0f} MB after load, {rss_staleness:.0f} MB after the heartbeat "
          f"checks, {rss_rollup:.0f} MB after the rollups, {rss_end:.0f} MB after the purge "
          f"({'flat' if rss_end - rss_start < 20 else 'GREW'})")


if __name__ == "__main__":
    main()
