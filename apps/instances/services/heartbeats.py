"""What heartbeats do to the instance registry, set-based: one statement per step, never one per instance.

The ingest writer calls these inside its one transaction:
1. `instances_lock_or_create` creates the instances first seen now and locks every named one
   (erased ids are never re-created), returning what the rest of the request needs to know;
2. the writer stores the events and learns which heartbeats were new (not retries);
3. `InstanceState.plan` (apps/instances/state.py) turns the new heartbeats into the row's next state, and
   `instances_apply_heartbeats` writes all of those states in one `UPDATE … FROM (VALUES …)`.
Because rows stay locked from 1 to 3, the state computed in Python cannot be overtaken by a
concurrent request for the same instance.
"""

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from functools import cache
from typing import Any

from django.db import connection

from apps.core import sql
from apps.core.privacy import keyed_hash
from apps.instances.models import CollectionLevel, ErasedInstance, Instance, InstanceStatus, StatusChange
from apps.instances.services.installations import InstallEvidence, installations_link, installations_link_cte
from apps.instances.state import DESCRIBED, InstanceState, InstanceUpdate
from apps.products.models import Product

# More new instances than this in one group (a bulk import) link in statements of their own.
_LINKS_IN_ONE_STATEMENT = 500
def _when(value: Any) -> datetime:
    """A NOT NULL datetime column read with a raw cursor."""
    parsed = sql.dt_result(value)
    if parsed is None:
        raise ValueError(f"not a datetime: {value!r}")
    return parsed


def _state(row: Sequence[Any], *, with_metrics: bool) -> InstanceState:
    return InstanceState(
        pk=row[0], instance_id=row[1], collection=row[2], status=row[3], first_seen=_when(row[4]),
        last_seen=_when(row[5]), heartbeat_count=row[6], version=row[7],
        metrics=sql.json_result(row[8]) if with_metrics else None,
    )


def instances_lock_or_create(*, product_id: int, first_seen: Mapping[str, datetime],
                             now: datetime) -> tuple[dict[str, InstanceState], int | None]:
    """Create missing instances (status `new`) and lock existing ones, in one upsert.

    `first_seen` maps each instance id to its earliest heartbeat in the request. Erased ids are
    filtered out by the insert itself and are simply absent from the result. The no-op
    `DO UPDATE` is there so RETURNING also yields (and locks) the rows that already existed.

    Also returns the product's change stamp as the statement saw it (None when no row came
    back): the ingest writer checks its cached product against it without a statement of its
    own (apps/ingest/product_cache.py).
    """
    if not first_seen:
        return {}, None
    rows: list[Sequence[Any]] = []
    tail = _lock_or_create_tail(sql.is_postgres())
    # One lock order for every request: sorted ids, chunks in order.
    for chunk in sql.chunks(sorted(first_seen), 3):
        cte, params = sql.rows_cte("v", _LOCK_COLUMNS,
                                   [(iid, sql.dt_param(first_seen[iid]), keyed_hash(iid)) for iid in chunk])
        params += [product_id, InstanceStatus.NEW, CollectionLevel.FULL, sql.dt_param(now), sql.dt_param(now),
                   product_id, product_id]
        with connection.cursor() as cursor:
            cursor.execute(f"WITH {cte} {tail}", params)
            rows += cursor.fetchall()
    return {row[1]: _state(row, with_metrics=True) for row in rows}, (rows[0][9] if rows else None)


_LOCK_COLUMNS = (("instance_id", "text"), ("ts", "timestamptz"), ("erased_hash", "text"))


@cache
def _lock_or_create_tail(postgres: bool) -> str:
    """`instances_lock_or_create`'s statement after its WITH entry (the same on every call: built once)."""
    t = sql.table(Instance)
    ts = sql.cast("v.ts", "timestamptz")
    stamp = sql.cast("%s", "timestamptz")
    return f"""
        INSERT INTO {t} (product_id, instance_id, first_seen, last_seen, version, edition, os, arch, context,
                         status, collection, metrics, ip_hash, country, heartbeat_count, dropped_count,
                         created_at, updated_at)
        SELECT %s, v.instance_id, {ts}, {ts}, '', '', '', '', '', %s, %s, '{{}}', '', '', 0, 0, {stamp}, {stamp}
        FROM v
        WHERE NOT EXISTS (SELECT 1 FROM {sql.table(ErasedInstance)} e
                          WHERE e.product_id = %s AND e.instance_hash = v.erased_hash)
        ON CONFLICT (product_id, instance_id) DO UPDATE SET updated_at = {t}.updated_at
        RETURNING id, instance_id, collection, status, first_seen, last_seen, heartbeat_count, version, metrics,
                  (SELECT change_stamp FROM {sql.table(Product)} WHERE id = %s)"""


def instances_lookup(*, product_id: int, instance_ids: Iterable[str]) -> tuple[dict[str, InstanceState], set[str]]:
    """Existing instances named by events (which never create one), and which of the others were erased."""
    wanted = set(instance_ids)
    if not wanted:
        return {}, set()
    # Performance: a hand-written statement; building the ORM query
    # cost a batch of events more CPU than running it.
    # FOR KEY SHARE: the events about to name these rows have no foreign key constraint (see
    # apps/events/models.py); this is the lock its check would take, once per row instead of once
    # per event. An erasure waits for the commit, then deletes these events too.
    held = " FOR KEY SHARE" if sql.is_postgres() else ""
    rows: list[Sequence[Any]] = []
    with connection.cursor() as cursor:
        for chunk in sql.chunks(sorted(wanted), 1):
            placeholders = ", ".join(["%s"] * len(chunk))
            cursor.execute(
                f"SELECT id, instance_id, collection, status, first_seen, last_seen, heartbeat_count, version "
                f"FROM {sql.table(Instance)} WHERE product_id = %s AND instance_id IN ({placeholders}){held}",
                [product_id, *chunk])
            rows += cursor.fetchall()
    found = {row[1]: _state(row, with_metrics=False) for row in rows}
    missing = {keyed_hash(instance_id): instance_id for instance_id in wanted - found.keys()}
    erased: set[str] = set()
    if missing:
        hashes = ErasedInstance.objects.filter(product_id=product_id, instance_hash__in=list(missing))
        erased = {missing[h] for h in hashes.values_list("instance_hash", flat=True)}
    return found, erased


def instances_apply_heartbeats(*, updates: Sequence[InstanceUpdate], now: datetime, product_id: int,
                               install_links: Sequence[InstallEvidence] = ()) -> None:
    """Write the planned states of many instances in one statement, plus their status changes.

    `install_links`: what the heartbeats say about install runs, for `installations_link`. PostgreSQL
    runs them as a data-modifying WITH entry of the same statement (one round trip fewer per
    group of new instances); SQLite, or a group of very many, in statements of their own.
    """
    if not updates:
        return
    together = sql.is_postgres() and 0 < len(install_links) <= _LINKS_IN_ONE_STATEMENT
    tail = _apply_tail(sql.is_postgres())
    for number, chunk in enumerate(sql.chunks(updates, len(_APPLY_COLUMNS))):
        cte, params = sql.rows_cte("v", _APPLY_COLUMNS, [
            (u.pk, sql.dt_param(u.first_seen), sql.dt_param(u.last_seen), u.status,
             sql.dt_param(u.status_change[2]) if u.status_change else None, u.version, u.edition, u.os, u.arch,
             u.context, u.ip_hash, u.country, sql.json_param(u.metrics), u.license_pk, u.added)
            for u in chunk])
        if together and number == 0:
            linked, linked_params = installations_link_cte("linked", product_id=product_id, instances=install_links,
                                                           now=now)
            cte, params = f"{cte}, {linked}", [*params, *linked_params]
        with connection.cursor() as cursor:
            cursor.execute(f"WITH {cte} {tail}", [*params, sql.dt_param(now)])
    if install_links and not together:
        installations_link(product_id=product_id, instances=install_links, now=now)
    changes = [StatusChange(instance_id=u.pk, old=u.status_change[0], new=u.status_change[1], at=u.status_change[2])
               for u in updates if u.status_change]
    if changes:
        StatusChange.objects.bulk_create(changes, ignore_conflicts=True)


_APPLY_COLUMNS = (("id", "bigint"), ("first_seen", "timestamptz"), ("last_seen", "timestamptz"), ("status", "text"),
                  ("status_changed_at", "timestamptz"), ("version", "text"), ("edition", "text"), ("os", "text"),
                  ("arch", "text"), ("context", "text"), ("ip_hash", "text"), ("country", "text"),
                  ("metrics", "jsonb"), ("license_id", "bigint"), ("added", "bigint"))


@cache
def _apply_tail(postgres: bool) -> str:
    """`instances_apply_heartbeats`' statement after its WITH entries (the same on every call: built once)."""
    t = sql.table(Instance)
    keep_if_empty = ", ".join(f"{name} = COALESCE(NULLIF(v.{name}, ''), {t}.{name})" for name in DESCRIBED)
    return f"""
        UPDATE {t} SET
            first_seen = {sql.cast("v.first_seen", "timestamptz")},
            last_seen = {sql.cast("v.last_seen", "timestamptz")},
            status = v.status,
            status_changed_at = COALESCE({sql.cast("v.status_changed_at", "timestamptz")}, {t}.status_changed_at),
            {keep_if_empty},
            metrics = COALESCE({sql.cast("v.metrics", "jsonb")}, {t}.metrics),
            license_id = COALESCE({sql.cast("v.license_id", "bigint")}, {t}.license_id),
            heartbeat_count = {t}.heartbeat_count + {sql.cast("v.added", "bigint")},
            updated_at = {sql.cast("%s", "timestamptz")}
        FROM v WHERE {t}.id = {sql.cast("v.id", "bigint")}"""


def instances_add_dropped(*, dropped: Mapping[int, int], now: datetime) -> None:
    """Count records the collection level refused, per instance, in one statement."""
    if not dropped:
        return
    t = sql.table(Instance)
    for chunk in sql.chunks(sorted(dropped), 2):
        cte, params = sql.rows_cte("v", (("id", "bigint"), ("n", "bigint")), [(pk, dropped[pk]) for pk in chunk])
        statement = f"""
            WITH {cte}
            UPDATE {t} SET dropped_count = {t}.dropped_count + {sql.cast("v.n", "bigint")},
                           updated_at = {sql.cast("%s", "timestamptz")}
            FROM v WHERE {t}.id = {sql.cast("v.id", "bigint")}"""
        with connection.cursor() as cursor:
            cursor.execute(statement, [*params, sql.dt_param(now)])
