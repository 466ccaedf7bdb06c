"""The install funnel: steps reported by install scripts, and linking an install to the instance it became."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apps.core import sql
from apps.instances.models import Installation

# Steps that end an install run; `support` is a request for help, not an outcome.
_FINISHING = (Installation.Status.SUCCEEDED, Installation.Status.FAILED)
# Order of steps sharing one timestamp (an installer reporting start and success in the same second).
_RANK = {Installation.Status.STARTED: 0, Installation.Status.FAILED: 1, Installation.Status.SUPPORT: 2,
         Installation.Status.SUCCEEDED: 3}


@dataclass(frozen=True, slots=True)
class InstallStepSeen:
    install_id: str
    step: str
    timestamp: datetime
    os: str = ""
    error: str = ""
    ip_hash: str = ""
    instance_pk: int | None = None


@dataclass(frozen=True, slots=True)
class _Run:
    install_id: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    last_seen: datetime
    os: str
    error: str
    ip_hash: str
    instance_pk: int | None


def _summarise(install_id: str, steps: Sequence[InstallStepSeen]) -> _Run:
    ordered = sorted(steps, key=lambda s: (s.timestamp, _RANK.get(s.step, 0)))
    finishing = [s.timestamp for s in ordered if s.step in _FINISHING]

    def latest(name: str) -> Any:
        return next((getattr(s, name) for s in reversed(ordered) if getattr(s, name)), None)

    return _Run(install_id=install_id, status=ordered[-1].step, started_at=ordered[0].timestamp,
                finished_at=finishing[-1] if finishing else None, last_seen=ordered[-1].timestamp,
                os=latest("os") or "", error=latest("error") or "", ip_hash=latest("ip_hash") or "",
                instance_pk=latest("instance_pk"))


def installations_record(*, product_id: int, steps: Sequence[InstallStepSeen], now: datetime) -> int:
    """Upsert one Installation per install id; returns how many install runs were touched.

    The status follows the latest step by time, so steps arriving out of order (or retried)
    end in the same row; the start is the earliest step seen, the finish the latest success
    or failure.
    """
    by_install: dict[str, list[InstallStepSeen]] = {}
    for step in steps:
        by_install.setdefault(step.install_id, []).append(step)
    if not by_install:
        return 0
    runs = [_summarise(install_id, by_install[install_id]) for install_id in sorted(by_install)]
    t = sql.table(Installation)
    ts = sql.cast("%s", "timestamptz")
    params: list[Any] = []
    for run in runs:
        params += [product_id, run.install_id, run.status, run.os, sql.dt_param(run.started_at),
                   sql.dt_param(run.finished_at), sql.dt_param(run.last_seen), run.error, run.ip_hash,
                   run.instance_pk, sql.dt_param(now), sql.dt_param(now)]
    statement = f"""
        INSERT INTO {t} (product_id, install_id, status, os, started_at, finished_at, last_seen, error, ip_hash,
                         instance_id, created_at, updated_at)
        VALUES {sql.values_rows(len(runs), f"%s, %s, %s, %s, {ts}, {ts}, {ts}, %s, %s, %s, {ts}, {ts}")}
        ON CONFLICT (product_id, install_id) DO UPDATE SET
            status = CASE WHEN excluded.last_seen >= {t}.last_seen THEN excluded.status ELSE {t}.status END,
            os = COALESCE(NULLIF(excluded.os, ''), {t}.os),
            started_at = COALESCE({sql.least(f"{t}.started_at", "excluded.started_at")},
                                  {t}.started_at, excluded.started_at),
            finished_at = COALESCE({sql.greatest(f"{t}.finished_at", "excluded.finished_at")},
                                   {t}.finished_at, excluded.finished_at),
            last_seen = {sql.greatest(f"{t}.last_seen", "excluded.last_seen")},
            error = COALESCE(NULLIF(excluded.error, ''), {t}.error),
            ip_hash = COALESCE(NULLIF(excluded.ip_hash, ''), {t}.ip_hash),
            instance_id = COALESCE({t}.instance_id, excluded.instance_id),
            updated_at = excluded.updated_at"""
    with sql.cursor() as cursor:
        cursor.execute(statement, params)
    return len(runs)


def installations_link(*, product_id: int, links: Sequence[tuple[int, str, str]], now: datetime) -> None:
    """Point unlinked install runs at the instance they became: `(instance pk, install id, ip hash)`.

    An install run matches by its id when the instance reported one, else by the keyed hash of
    the address it was installed from (Appsmith's installer and its server's setup ping both
    come from the server's address). One statement for every instance first seen in a request.
    """
    for chunk in sql.chunks(links, 3):
        rows, params = _link_rows("v", chunk)
        update, update_params = _link_update("v", product_id=product_id, now=now)
        with sql.cursor() as cursor:
            cursor.execute(f"WITH {rows} {update}", [*params, *update_params])


def installations_link_cte(name: str, *, product_id: int, links: Sequence[tuple[int, str, str]],
                           now: datetime) -> tuple[str, list[Any]]:
    """PostgreSQL only: `installations_link` as entries of a WITH clause (the last one named `name`).

    PostgreSQL runs a data-modifying WITH entry whether or not the statement reads it, so the
    ingest writer links install runs in the same statement as it updates their instances, one
    round trip fewer per group of new instances. SQLite has no such entries.
    """
    rows, params = _link_rows(f"{name}_rows", links)
    update, update_params = _link_update(f"{name}_rows", product_id=product_id, now=now)
    return f"{rows}, {name} AS ({update} RETURNING 1)", [*params, *update_params]


def _link_rows(name: str, links: Sequence[tuple[int, str, str]]) -> tuple[str, list[Any]]:
    return sql.rows_cte(name, (("pk", "bigint"), ("install_id", "text"), ("ip_hash", "text")), links)


def _link_update(rows: str, *, product_id: int, now: datetime) -> tuple[str, list[Any]]:
    t = sql.table(Installation)
    return f"""
        UPDATE {t} SET instance_id = {sql.cast("v.pk", "bigint")}, updated_at = {sql.cast("%s", "timestamptz")}
        FROM {rows} AS v
        WHERE {t}.product_id = %s AND {t}.instance_id IS NULL
          AND ((v.install_id <> '' AND {t}.install_id = v.install_id)
               OR (v.ip_hash <> '' AND {t}.ip_hash = v.ip_hash))""", [sql.dt_param(now), product_id]
