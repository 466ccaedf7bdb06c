"""Daily rollups: fleet figures per product and UTC day, computed in the database and replaced.

Per UTC day, in one transaction: an INSERT … SELECT … GROUP BY product … ON CONFLICT DO UPDATE
upserts every product's DailyRollup row, then the day's breakdown rows are deleted and rebuilt
with an INSERT … SELECT … GROUP BY product, key, so a key that disappeared (an event name whose
events were erased, an instance that upgraded) does not linger. Re-running a day gives the same
rows: replace, never increment. Each SELECT is staged in a temporary table first (see
`_insert_select`). Statements name the products (`product_id IN (…)`) so the day's events are
read through the (product, timestamp) index instead of a scan of the whole table.

Breakdowns of active instances use the instance's current version/edition/os/licence/country:
events do not keep those, so a rebuild of an old day describes today's attributes of that day's
instances. Opt-outs (instance-less events of kind `opt_out`) are counted per day and by the
version each one carried.
"""

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.backends.utils import CursorWrapper
from django.db.models import Count

from apps.core import sql
from apps.events.models import Event
from apps.ingest.envelope import DEVELOPMENT_CONTEXT
from apps.instances.models import Installation, Instance, StatusChange
from apps.licenses.models import License
from apps.products.models import Product
from apps.rollups.models import DailyBreakdown, DailyRollup

EVENTS = Event._meta.db_table
INSTANCES = Instance._meta.db_table
CHANGES = StatusChange._meta.db_table
INSTALLS = Installation._meta.db_table
LICENSES = License._meta.db_table
ROLLUPS = DailyRollup._meta.db_table
BREAKDOWNS = DailyBreakdown._meta.db_table
PRODUCTS = Product._meta.db_table
STAGING = "rollup_staging"
BREAKDOWN_COLUMNS = ["product_id", "day", "dimension", "key", "count", "instances"]
# Development builds (Hasura's `_test` topics) are stored and filterable but no production figure
# counts them: their instances, heartbeats and events stay out of the rollups.
PRODUCTION_EVENT = (f"(instance_id IS NULL OR instance_id NOT IN (SELECT id FROM {INSTANCES} "
                    f"WHERE context = '{DEVELOPMENT_CONTEXT}'))")
# First key of the PostgreSQL advisory lock that serialises two rebuilds of one day.
ROLLUP_LOCK_NAMESPACE = 0x524F4C4C  # "ROLL"

# Attributes of the day's active instances, each a breakdown dimension.
ATTRIBUTES = ("version", "edition", "os", "license_type", "country")
ROLLUP_COLUMNS = ["active_instances", "new_instances", "stale_instances", "dead_instances",
                  "resurrected_instances", "heartbeats", "events", "installs_started", "installs_succeeded",
                  "installs_failed", "installs_support", "opt_outs", "computed_at"]


def days_between(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def rollups_build(*, days: Iterable[date], now: datetime, product_ids: list[int] | None = None,
                  progress: Callable[[int], object] | None = None, resume_from: datetime | None = None) -> int:
    """Recompute the rollup and breakdowns of each day for every product (or those given).

    `resume_from`: when the backfill first started. A backfill run again after a kill skips the
    days whose rollups were all computed since then, and continues where it was stopped.
    Returns the number of (product, day) rollups written.
    """
    products = Product.objects.order_by("pk")
    if product_ids is not None:
        products = products.filter(pk__in=product_ids)
    pks = list(products.values_list("pk", flat=True))
    days = list(days)
    done = _days_built_since(resume_from, days=days, product_ids=pks) if resume_from and pks else set()
    built = 0
    for day in days:
        if pks and day not in done:
            rollup_build_day(product_ids=pks, day=day, now=now)
            built += len(pks)
        if progress:
            progress(1)
    return built


def _days_built_since(since: datetime, *, days: list[date], product_ids: list[int]) -> set[date]:
    built = (DailyRollup.objects.filter(product_id__in=product_ids, day__in=days, computed_at__gte=since)
             .values("day").annotate(products=Count("product_id")).filter(products=len(product_ids)))
    return {row["day"] for row in built}


def rollup_build_day(*, product_ids: list[int], day: date, now: datetime) -> None:
    start, end = day_bounds(day)
    with transaction.atomic(), connection.cursor() as cursor:
        if sql.is_postgres():
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [ROLLUP_LOCK_NAMESPACE, day.toordinal()])
        select, params = rollup_select_sql(product_ids=product_ids, day=day, start=start, end=end, now=now)
        updates = ", ".join(f"{column} = excluded.{column}" for column in ROLLUP_COLUMNS)
        _insert_select(cursor, table=ROLLUPS, columns=["product_id", "day", *ROLLUP_COLUMNS], select=select,
                       params=params, on_conflict=f"(product_id, day) DO UPDATE SET {updates}")
        cursor.execute(f"DELETE FROM {BREAKDOWNS} WHERE day = %s AND product_id IN ({_marks(product_ids)})",
                       [sql.date_param(day), *product_ids])
        select, params = breakdown_select_sql(product_ids=product_ids, day=day, start=start, end=end)
        _insert_select(cursor, table=BREAKDOWNS, columns=BREAKDOWN_COLUMNS, select=select, params=params,
                       on_conflict="(product_id, day, dimension, key) "
                                   "DO UPDATE SET count = excluded.count, instances = excluded.instances")


def _insert_select(cursor: CursorWrapper, *, table: str, columns: list[str], select: str, params: list[Any],
                   on_conflict: str) -> None:
    """INSERT … SELECT … ON CONFLICT, with the SELECT computed first into a temporary table.

    PostgreSQL never runs the SELECT of an INSERT with parallel workers, but it does for
    CREATE TABLE AS: on two cores that halves the day's scan. The temporary table holds only
    the aggregate (a row per product, or per product and key).
    """
    cursor.execute(f"DROP TABLE IF EXISTS {STAGING}")
    cursor.execute(f"CREATE TEMPORARY TABLE {STAGING} AS {select}", params)
    names = ", ".join(columns)
    cursor.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {STAGING} WHERE 1 = 1 "
                   f"ON CONFLICT {on_conflict}")
    cursor.execute(f"DROP TABLE {STAGING}")


def _marks(values: list[int]) -> str:
    return ", ".join(["%s"] * len(values))


def rollup_select_sql(*, product_ids: list[int], day: date, start: datetime, end: datetime,
                      now: datetime) -> tuple[str, list[Any]]:
    """One row per product for the day, in DailyRollup's column order (product, day, figures…)."""
    ps, s, e = product_ids, sql.dt_param(start), sql.dt_param(end)
    among = f"product_id IN ({_marks(ps)})"
    statement = f"""
        SELECT p.id AS product_id, %s AS day,
               COALESCE(ev.active, 0) AS active_instances, COALESCE(nw.n, 0) AS new_instances,
               COALESCE(sc.stale, 0) AS stale_instances, COALESCE(sc.dead, 0) AS dead_instances,
               COALESCE(sc.resurrected, 0) AS resurrected_instances, COALESCE(ev.heartbeats, 0) AS heartbeats,
               COALESCE(ev.events, 0) AS events, COALESCE(ins.started, 0) AS installs_started,
               COALESCE(ins.succeeded, 0) AS installs_succeeded, COALESCE(ins.failed, 0) AS installs_failed,
               COALESCE(ins.support, 0) AS installs_support, COALESCE(ev.opt_outs, 0) AS opt_outs,
               %s AS computed_at
          FROM {PRODUCTS} AS p
          LEFT JOIN (SELECT product_id,
                            COUNT(DISTINCT CASE WHEN kind = 'heartbeat' THEN instance_id END) AS active,
                            SUM(CASE WHEN kind = 'heartbeat' THEN 1 ELSE 0 END) AS heartbeats,
                            SUM(CASE WHEN kind = 'event' THEN 1 ELSE 0 END) AS events,
                            SUM(CASE WHEN kind = 'opt_out' THEN 1 ELSE 0 END) AS opt_outs
                       FROM {EVENTS}
                      WHERE {among} AND timestamp >= %s AND timestamp < %s AND {PRODUCTION_EVENT}
                      GROUP BY product_id) AS ev ON ev.product_id = p.id
          LEFT JOIN (SELECT product_id, COUNT(*) AS n FROM {INSTANCES}
                      WHERE {among} AND first_seen >= %s AND first_seen < %s AND context <> '{DEVELOPMENT_CONTEXT}'
                      GROUP BY product_id) AS nw ON nw.product_id = p.id
          LEFT JOIN (SELECT i.product_id,
                            SUM(CASE WHEN c.new = 'stale' THEN 1 ELSE 0 END) AS stale,
                            SUM(CASE WHEN c.new = 'dead' THEN 1 ELSE 0 END) AS dead,
                            SUM(CASE WHEN c.new = 'active' AND c.old IN ('stale', 'dead') THEN 1 ELSE 0 END)
                                AS resurrected
                       FROM {CHANGES} AS c JOIN {INSTANCES} AS i ON i.id = c.instance_id
                      WHERE c.at >= %s AND c.at < %s
                      GROUP BY i.product_id) AS sc ON sc.product_id = p.id
          LEFT JOIN (SELECT product_id,
                            SUM(CASE WHEN started_at >= %s AND started_at < %s THEN 1 ELSE 0 END) AS started,
                            {_outcome_sum('succeeded')} AS succeeded,
                            {_outcome_sum('failed')} AS failed,
                            {_outcome_sum('support')} AS support
                       FROM {INSTALLS}
                      WHERE {among}
                      GROUP BY product_id) AS ins ON ins.product_id = p.id
         WHERE p.id IN ({_marks(ps)})
    """
    params = [sql.date_param(day), sql.dt_param(now), *ps, s, e, *ps, s, e, s, e, s, e, *([s, e] * 3), *ps, *ps]
    return statement, params


def _outcome_sum(status: str) -> str:
    # An outcome counts on the day it happened: success or failure when the run finished, a request
    # for support at the run's latest step (support does not finish a run).
    at = "last_seen" if status == "support" else "COALESCE(finished_at, last_seen)"
    return f"SUM(CASE WHEN status = '{status}' AND {at} >= %s AND {at} < %s THEN 1 ELSE 0 END)"


def breakdown_select_sql(*, product_ids: list[int], day: date, start: datetime,
                         end: datetime) -> tuple[str, list[Any]]:
    """Rows (product, day, dimension, key, count, instances): active instances by attribute, events by
    name, opt-outs by version (`instances` 0: an opt-out names none).

    The day's active instances are grouped once by every attribute together (a few hundred
    combinations at most), and each dimension is summed from that small set.
    """
    ps, d, s, e = product_ids, sql.date_param(day), sql.dt_param(start), sql.dt_param(end)
    among = f"product_id IN ({_marks(ps)})"
    by_attribute = " UNION ALL ".join(
        f"SELECT product_id, %s AS day, '{dimension}' AS dimension, {dimension} AS key, SUM(n) AS count, "
        f"SUM(n) AS instances FROM combos GROUP BY product_id, {dimension}"
        for dimension in ATTRIBUTES
    )
    opt_out_version = sql.json_text("properties", "version")
    statement = f"""
        WITH combos AS MATERIALIZED (
            SELECT i.product_id, i.version, i.edition, i.os, COALESCE(l.type, '') AS license_type, i.country,
                   COUNT(*) AS n
              FROM {INSTANCES} AS i LEFT JOIN {LICENSES} AS l ON l.id = i.license_id
             WHERE i.id IN (SELECT instance_id FROM {EVENTS}
                             WHERE {among} AND kind = 'heartbeat' AND timestamp >= %s AND timestamp < %s)
               AND i.context <> '{DEVELOPMENT_CONTEXT}'
             GROUP BY i.product_id, i.version, i.edition, i.os, COALESCE(l.type, ''), i.country
        )
        {by_attribute}
        UNION ALL
        SELECT product_id, %s, 'event', name, COUNT(*), COUNT(DISTINCT instance_id) FROM {EVENTS}
         WHERE {among} AND kind = 'event' AND timestamp >= %s AND timestamp < %s
         GROUP BY product_id, name
        UNION ALL
        SELECT product_id, %s, 'opt_out_version', {opt_out_version}, COUNT(*), 0 FROM {EVENTS}
         WHERE {among} AND kind = 'opt_out' AND timestamp >= %s AND timestamp < %s
         GROUP BY product_id, {opt_out_version}
    """
    params = [*ps, s, e, *([d] * len(ATTRIBUTES)), d, *ps, s, e, d, *ps, s, e]
    return statement, params
