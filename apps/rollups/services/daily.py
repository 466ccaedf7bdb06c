"""Daily rollups: fleet figures per product and UTC day, computed in the database and replaced.

Per (product, day), in one transaction: one INSERT … SELECT upserts the DailyRollup row, then
the day's breakdown rows are deleted and rebuilt with one INSERT … SELECT … GROUP BY, so a key
that disappeared (an event name whose events were erased, an instance that upgraded) does not
linger. Re-running a day gives the same rows: replace, never increment. Each statement reads one
product's slice through the (product, timestamp) index, which is why the loop is per product.

Breakdowns of active instances use the instance's current version/edition/os/licence: events do
not keep those, so a rebuild of an old day describes today's attributes of that day's instances.
"""

from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta

from django.db import connection, transaction

from apps.core.sqltime import db_date, db_datetime, is_postgres
from apps.events.models import Event
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
# First key of the PostgreSQL advisory lock that serialises two rebuilds of one product.
ROLLUP_LOCK_NAMESPACE = 0x524F4C4C  # "ROLL"

ROLLUP_COLUMNS = ["active_instances", "new_instances", "stale_instances", "dead_instances",
                  "resurrected_instances", "heartbeats", "events", "installs_started", "installs_succeeded",
                  "installs_failed", "installs_support", "computed_at"]


def days_between(first: date, last: date) -> Iterator[date]:
    day = first
    while day <= last:
        yield day
        day += timedelta(days=1)


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time.min, tzinfo=UTC)
    return start, start + timedelta(days=1)


def rollups_build(*, days: Iterable[date], now: datetime, product_ids: list[int] | None = None,
                  progress: Callable[[int], None] | None = None) -> int:
    """Recompute every product's rollup and breakdowns for each day; returns (product, day) pairs built."""
    products = Product.objects.order_by("pk")
    if product_ids is not None:
        products = products.filter(pk__in=product_ids)
    pks = list(products.values_list("pk", flat=True))
    built = 0
    for day in days:
        for product_id in pks:
            rollup_build_day(product_id=product_id, day=day, now=now)
            built += 1
        if progress:
            progress(1)
    return built


def rollup_build_day(*, product_id: int, day: date, now: datetime) -> None:
    start, end = day_bounds(day)
    with transaction.atomic(), connection.cursor() as cursor:
        if is_postgres():
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [ROLLUP_LOCK_NAMESPACE, product_id])
        sql, params = rollup_upsert_sql(product_id=product_id, day=day, start=start, end=end, now=now)
        cursor.execute(sql, params)
        cursor.execute(f"DELETE FROM {BREAKDOWNS} WHERE product_id = %s AND day = %s", [product_id, db_date(day)])
        sql, params = breakdown_select_sql(product_id=product_id, day=day, start=start, end=end)
        cursor.execute(
            f"INSERT INTO {BREAKDOWNS} (product_id, day, dimension, key, count, instances) {sql} "
            f"ON CONFLICT (product_id, day, dimension, key) "
            f"DO UPDATE SET count = excluded.count, instances = excluded.instances",
            params,
        )


def rollup_select_sql(*, product_id: int, day: date, start: datetime, end: datetime,
                      now: datetime) -> tuple[str, list[object]]:
    """One row of figures for (product, day), in DailyRollup's column order after product and day."""
    p, s, e = product_id, db_datetime(start), db_datetime(end)
    sql = f"""
        SELECT %s, %s,
               ev.active, nw.n, sc.stale, sc.dead, sc.resurrected, ev.heartbeats, ev.events,
               ins.started, ins.succeeded, ins.failed, ins.support, %s
          FROM (SELECT COUNT(DISTINCT CASE WHEN kind = 'heartbeat' THEN instance_id END) AS active,
                       COALESCE(SUM(CASE WHEN kind = 'heartbeat' THEN 1 ELSE 0 END), 0) AS heartbeats,
                       COALESCE(SUM(CASE WHEN kind = 'event' THEN 1 ELSE 0 END), 0) AS events
                  FROM {EVENTS}
                 WHERE product_id = %s AND timestamp >= %s AND timestamp < %s) AS ev,
               (SELECT COUNT(*) AS n FROM {INSTANCES}
                 WHERE product_id = %s AND first_seen >= %s AND first_seen < %s) AS nw,
               (SELECT COALESCE(SUM(CASE WHEN c.new = 'stale' THEN 1 ELSE 0 END), 0) AS stale,
                       COALESCE(SUM(CASE WHEN c.new = 'dead' THEN 1 ELSE 0 END), 0) AS dead,
                       COALESCE(SUM(CASE WHEN c.new = 'active' AND c.old IN ('stale', 'dead')
                                         THEN 1 ELSE 0 END), 0) AS resurrected
                  FROM {CHANGES} AS c JOIN {INSTANCES} AS i ON i.id = c.instance_id
                 WHERE i.product_id = %s AND c.at >= %s AND c.at < %s) AS sc,
               (SELECT COALESCE(SUM(CASE WHEN started_at >= %s AND started_at < %s THEN 1 ELSE 0 END), 0)
                           AS started,
                       {_outcome_sum('succeeded')} AS succeeded,
                       {_outcome_sum('failed')} AS failed,
                       {_outcome_sum('support')} AS support
                  FROM {INSTALLS}
                 WHERE product_id = %s AND (started_at >= %s AND started_at < %s
                       OR COALESCE(finished_at, last_seen) >= %s AND COALESCE(finished_at, last_seen) < %s)) AS ins
         WHERE 1 = 1
    """
    params = [p, db_date(day), db_datetime(now), p, s, e, p, s, e, p, s, e, s, e,
              s, e, s, e, s, e, p, s, e, s, e]
    return sql, params


def _outcome_sum(status: str) -> str:
    # An outcome counts on the day it happened: success or failure when the run finished, a request
    # for support at the run's latest step (support does not finish a run).
    at = "last_seen" if status == "support" else "COALESCE(finished_at, last_seen)"
    return f"COALESCE(SUM(CASE WHEN status = '{status}' AND {at} >= %s AND {at} < %s THEN 1 ELSE 0 END), 0)"


def rollup_upsert_sql(*, product_id: int, day: date, start: datetime, end: datetime,
                      now: datetime) -> tuple[str, list[object]]:
    select, params = rollup_select_sql(product_id=product_id, day=day, start=start, end=end, now=now)
    updates = ", ".join(f"{column} = excluded.{column}" for column in ROLLUP_COLUMNS)
    sql = (f"INSERT INTO {ROLLUPS} (product_id, day, {', '.join(ROLLUP_COLUMNS)}) {select} "
           f"ON CONFLICT (product_id, day) DO UPDATE SET {updates}")
    return sql, params


def breakdown_select_sql(*, product_id: int, day: date, start: datetime,
                         end: datetime) -> tuple[str, list[object]]:
    """Rows (product, day, dimension, key, count, instances): active instances by attribute, events by name."""
    p, d, s, e = product_id, db_date(day), db_datetime(start), db_datetime(end)
    by_attribute = " UNION ALL ".join(
        f"SELECT %s, %s, '{dimension}', {column}, COUNT(*), COUNT(*) FROM active GROUP BY {column}"
        for dimension, column in (("version", "version"), ("edition", "edition"), ("os", "os"),
                                  ("license_type", "license_type"))
    )
    sql = f"""
        WITH active AS MATERIALIZED (
            SELECT i.version, i.edition, i.os, COALESCE(l.type, '') AS license_type
              FROM {INSTANCES} AS i LEFT JOIN {LICENSES} AS l ON l.id = i.license_id
             WHERE i.id IN (SELECT instance_id FROM {EVENTS}
                             WHERE product_id = %s AND kind = 'heartbeat' AND timestamp >= %s AND timestamp < %s)
        )
        {by_attribute}
        UNION ALL
        SELECT %s, %s, 'event', name, COUNT(*), COUNT(DISTINCT instance_id) FROM {EVENTS}
         WHERE product_id = %s AND kind = 'event' AND timestamp >= %s AND timestamp < %s
         GROUP BY name
    """
    params = [p, s, e, *([p, d] * 4), p, d, p, s, e]
    return sql, params
