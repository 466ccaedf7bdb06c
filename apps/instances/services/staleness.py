"""The heartbeat checker: instances that fell silent become stale, then dead.

Every transition is one set-based conditional UPDATE per chunk (`… WHERE status IN (old)`), and
its StatusChange is dated when the threshold passed (last_seen + threshold), not when the job ran,
so a late or repeated run writes exactly the same rows. Two checkers racing never record a change
twice: on PostgreSQL the chunk's rows are locked (`FOR UPDATE SKIP LOCKED`) and the update, its
RETURNING and the audit insert are one statement; on SQLite the whole chunk runs under the single
writer lock. The StatusChange insert is `ON CONFLICT DO NOTHING` on its unique constraint as well.
Bringing an instance back to `active` is ingest's job (a heartbeat on a stale/dead instance).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction

from apps.core.sqltime import db_datetime, is_postgres, plus_seconds
from apps.instances.models import Instance, InstanceStatus, StatusChange
from apps.products.models import Product

DEFAULT_CHUNK_SIZE = 10_000

INSTANCE_TABLE = Instance._meta.db_table
CHANGE_TABLE = StatusChange._meta.db_table


@dataclass(frozen=True)
class HeartbeatCheck:
    stale: int = 0
    dead: int = 0

    def __add__(self, other: "HeartbeatCheck") -> "HeartbeatCheck":
        return HeartbeatCheck(stale=self.stale + other.stale, dead=self.dead + other.dead)


def instances_check_heartbeats(*, now: datetime, chunk_size: int = DEFAULT_CHUNK_SIZE,
                               product_ids: list[int] | None = None,
                               progress: Callable[[int], None] | None = None) -> HeartbeatCheck:
    """Move silent instances new/active → stale → dead for every product; returns how many moved.

    Stale comes first so an instance found silent for longer than both thresholds (the checker
    was down) still gets both transitions, each with its own date.
    """
    products = Product.objects.order_by("pk")
    if product_ids is not None:
        products = products.filter(pk__in=product_ids)
    total = HeartbeatCheck()
    for product in products.only("pk", "heartbeat_interval", "stale_after", "dead_after"):
        stale_after = product.stale_after_seconds
        # A dead threshold below the stale one would date "dead" before "stale"; never go backwards.
        dead_after = max(product.dead_after, stale_after)
        stale = _transition(product_id=product.pk, old=[InstanceStatus.NEW, InstanceStatus.ACTIVE],
                            new=InstanceStatus.STALE, after_seconds=stale_after, now=now,
                            chunk_size=chunk_size, progress=progress)
        dead = _transition(product_id=product.pk, old=[InstanceStatus.STALE], new=InstanceStatus.DEAD,
                           after_seconds=dead_after, now=now, chunk_size=chunk_size, progress=progress)
        total += HeartbeatCheck(stale=stale, dead=dead)
    return total


def _transition(*, product_id: int, old: list[str], new: str, after_seconds: int, now: datetime,
                chunk_size: int, progress: Callable[[int], None] | None) -> int:
    """Apply one transition in chunks until a chunk comes back short; returns rows changed."""
    run_chunk = _chunk_postgres if is_postgres() else _chunk_sqlite
    changed = 0
    while True:
        moved = run_chunk(product_id=product_id, old=old, new=new, after_seconds=after_seconds, now=now,
                          chunk_size=chunk_size)
        changed += moved
        if progress and moved:
            progress(moved)
        if moved < chunk_size:
            return changed


def _candidates_sql(old: list[str]) -> str:
    placeholders = ", ".join(["%s"] * len(old))
    return (f"SELECT id, status FROM {INSTANCE_TABLE} "
            f"WHERE product_id = %s AND status IN ({placeholders}) AND last_seen < %s")


def _chunk_postgres(*, product_id: int, old: list[str], new: str, after_seconds: int, now: datetime,
                    chunk_size: int) -> int:
    # SKIP LOCKED: a second checker takes the next rows instead of waiting for (and then
    # re-checking) the rows the first one is changing; each row is changed by exactly one of them.
    changed_at, changed_at_params = plus_seconds("i.last_seen", after_seconds)
    sql = f"""
        WITH picked AS (
            {_candidates_sql(old)} LIMIT %s FOR UPDATE SKIP LOCKED
        ), changed AS (
            UPDATE {INSTANCE_TABLE} AS i
               SET status = %s, status_changed_at = {changed_at}, updated_at = %s
              FROM picked
             WHERE i.id = picked.id
            RETURNING i.id, picked.status AS old, i.status_changed_at AS at
        ), logged AS (
            INSERT INTO {CHANGE_TABLE} (instance_id, old, new, at)
            SELECT id, old, %s, at FROM changed
            ON CONFLICT (instance_id, new, at) DO NOTHING
        )
        SELECT count(*) FROM changed
    """
    params = [product_id, *old, now - timedelta(seconds=after_seconds), chunk_size, new, *changed_at_params, now, new]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


def _chunk_sqlite(*, product_id: int, old: list[str], new: str, after_seconds: int, now: datetime,
                  chunk_size: int) -> int:
    # SQLite has one writer at a time and the atomic block takes the write lock up front
    # (transaction_mode IMMEDIATE), so both statements below see the same chunk of rows.
    changed_at, changed_at_params = plus_seconds("last_seen", after_seconds)
    cutoff = db_datetime(now - timedelta(seconds=after_seconds))
    chunk = f"{_candidates_sql(old)} ORDER BY id LIMIT %s"
    chunk_params = [product_id, *old, cutoff, chunk_size]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {CHANGE_TABLE} (instance_id, old, new, at) "
            f"SELECT id, status, %s, {changed_at} FROM {INSTANCE_TABLE} "
            f"WHERE id IN (SELECT id FROM ({chunk})) "
            f"ON CONFLICT (instance_id, new, at) DO NOTHING",
            [new, *changed_at_params, *chunk_params],
        )
        cursor.execute(
            f"UPDATE {INSTANCE_TABLE} SET status = %s, status_changed_at = {changed_at}, updated_at = %s "
            f"WHERE id IN (SELECT id FROM ({chunk}))",
            [new, *changed_at_params, db_datetime(now), *chunk_params],
        )
        return cursor.rowcount

