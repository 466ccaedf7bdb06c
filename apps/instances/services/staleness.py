"""The heartbeat checker: instances that fell silent become stale, then dead.

Each transition (new → stale, active → stale, stale → dead) is one set-based conditional UPDATE
per chunk, `… WHERE status = old AND last_seen < threshold`, and its StatusChange is dated when
the threshold passed (last_seen + threshold), not when the job ran, so a late or repeated run
writes exactly the same rows.

Two checkers racing record each change once. On PostgreSQL the update, its RETURNING and the
audit insert are one statement; a row another checker (or ingest) changed meanwhile fails the
re-checked `status = old AND last_seen < threshold` and is skipped. On SQLite the chunk runs under
the single writer lock. The StatusChange insert is also `ON CONFLICT DO NOTHING` on its unique
constraint. Bringing an instance back to `active` is ingest's job (a heartbeat on a stale/dead one).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction

from apps.core import sql
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


@dataclass(frozen=True)
class _Transition:
    product_id: int
    old: str
    new: str
    after_seconds: int
    now: datetime

    @property
    def threshold(self) -> datetime:
        return self.now - timedelta(seconds=self.after_seconds)


def instances_check_heartbeats(*, now: datetime, chunk_size: int = DEFAULT_CHUNK_SIZE,
                               product_ids: list[int] | None = None,
                               progress: Callable[[int], object] | None = None) -> HeartbeatCheck:
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
        stale = sum(_apply(_Transition(product.pk, old, InstanceStatus.STALE, stale_after, now),
                           chunk_size=chunk_size, progress=progress)
                    for old in (InstanceStatus.NEW, InstanceStatus.ACTIVE))
        dead = _apply(_Transition(product.pk, InstanceStatus.STALE, InstanceStatus.DEAD, dead_after, now),
                      chunk_size=chunk_size, progress=progress)
        total += HeartbeatCheck(stale=stale, dead=dead)
    return total


def _apply(transition: _Transition, *, chunk_size: int, progress: Callable[[int], object] | None) -> int:
    """Run one transition chunk by chunk until a chunk comes back short; returns rows changed."""
    run_chunk = _chunk_postgres if sql.is_postgres() else _chunk_sqlite
    changed = 0
    while True:
        moved = run_chunk(transition, chunk_size)
        changed += moved
        if progress and moved:
            progress(moved)
        if moved < chunk_size:
            return changed


def _candidates_sql(t: _Transition) -> tuple[str, list[Any]]:
    return (f"SELECT id FROM {INSTANCE_TABLE} WHERE product_id = %s AND status = %s AND last_seen < %s",
            [t.product_id, t.old, sql.dt_param(t.threshold)])


def _chunk_postgres(t: _Transition, chunk_size: int) -> int:
    changed_at, changed_at_params = sql.plus_seconds("last_seen", t.after_seconds)
    candidates, candidate_params = _candidates_sql(t)
    # The candidates are planned without the LIMIT (MATERIALIZED), so PostgreSQL reads them
    # through an index instead of betting on a scan that stops early; `= ANY(ARRAY(…))` then
    # updates the chunk by primary key. The outer WHERE is re-checked on rows that another
    # checker or ingest changed meanwhile, which are then left alone.
    statement = f"""
        WITH candidates AS MATERIALIZED ({candidates}),
        changed AS (
            UPDATE {INSTANCE_TABLE} SET status = %s, status_changed_at = {changed_at}, updated_at = %s
             WHERE id = ANY(ARRAY(SELECT id FROM candidates LIMIT %s)) AND status = %s AND last_seen < %s
            RETURNING id, status_changed_at
        ), logged AS (
            INSERT INTO {CHANGE_TABLE} (instance_id, old, new, at)
            SELECT id, %s, %s, status_changed_at FROM changed
            ON CONFLICT (instance_id, new, at) DO NOTHING
        )
        SELECT count(*) FROM changed
    """
    params = [*candidate_params, t.new, *changed_at_params, t.now, chunk_size, t.old, t.threshold, t.old, t.new]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchone()[0]


def _chunk_sqlite(t: _Transition, chunk_size: int) -> int:
    # SQLite has one writer at a time and the atomic block takes the write lock up front
    # (transaction_mode IMMEDIATE), so both statements below see the same chunk of rows.
    changed_at, changed_at_params = sql.plus_seconds("last_seen", t.after_seconds)
    candidates, candidate_params = _candidates_sql(t)
    # Ordered by id: both statements take exactly the same rows.
    chunk, chunk_params = f"{candidates} ORDER BY id LIMIT %s", [*candidate_params, chunk_size]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {CHANGE_TABLE} (instance_id, old, new, at) "
            f"SELECT id, %s, %s, {changed_at} FROM {INSTANCE_TABLE} WHERE id IN ({chunk}) "
            f"ON CONFLICT (instance_id, new, at) DO NOTHING",
            [t.old, t.new, *changed_at_params, *chunk_params],
        )
        cursor.execute(
            f"UPDATE {INSTANCE_TABLE} SET status = %s, status_changed_at = {changed_at}, updated_at = %s "
            f"WHERE id IN ({chunk})",
            [t.new, *changed_at_params, sql.dt_param(t.now), *chunk_params],
        )
        return cursor.rowcount
