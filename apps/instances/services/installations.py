"""The install funnel: steps reported by install scripts, and linking an install to the instance it became."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from apps.core import sql
from apps.instances.models import Installation

# Steps that end an install run; `support` is a request for help, not an outcome.
_FINISHING = (Installation.Status.SUCCEEDED, Installation.Status.FAILED)
# Order of steps sharing one timestamp (an installer reporting start and success in the same second).
_RANK: dict[str, int] = {Installation.Status.STARTED: 0, Installation.Status.FAILED: 1, Installation.Status.SUPPORT: 2,
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
                   run.instance_pk, Installation.Link.NAMED if run.instance_pk else Installation.Link.NONE,
                   sql.dt_param(now), sql.dt_param(now)]
    statement = f"""
        INSERT INTO {t} (product_id, install_id, status, os, started_at, finished_at, last_seen, error, ip_hash,
                         instance_id, link_reason, created_at, updated_at)
        VALUES {sql.values_rows(len(runs), f"%s, %s, %s, %s, {ts}, {ts}, {ts}, %s, %s, %s, %s, {ts}, {ts}")}
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
            link_reason = CASE WHEN {t}.instance_id IS NULL AND excluded.instance_id IS NOT NULL
                               THEN excluded.link_reason ELSE {t}.link_reason END,
            instance_id = COALESCE({t}.instance_id, excluded.instance_id),
            updated_at = excluded.updated_at"""
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
    return len(runs)


# How long after an install run (its last step) a new instance from the same address may be the
# one it installed: an installer's last step and the server's first heartbeat (Appsmith's setup
# ping comes when its admin signs up) are usually minutes apart, rarely more than a day.
ADDRESS_LINK_WINDOW_SECONDS = 24 * 3600

_Link = Installation.Link


@dataclass(frozen=True, slots=True)
class InstallEvidence:
    """An instance's heartbeats as evidence for the install run it came from.

    A new instance brings its install id, if it carried one, or else its address; an instance
    seen before only ever an install id (a re-install), never an address.
    """

    pk: int
    first_seen: datetime  # its earliest heartbeat ever
    install_id: str = ""  # the install id its heartbeat carried
    ip_hash: str = ""  # the keyed hash of the address it reported from


def installations_link(*, product_id: int, instances: Sequence[InstallEvidence], now: datetime) -> None:
    """Link install runs to the instances they became, on evidence only, and record why or why not.

    - By install id: a run whose id an instance's heartbeat carried is that instance's; but a
      failed run never goes to an instance alive before the run started (`alive_before`).
    - By address (an instance that carried no install id): a run from the instance's keyed
      address whose window (its start to a day after its last step) holds the instance's first
      heartbeat, when it is the only such run, linked or not (else `several_runs`), and the
      instance the only new one from that address (else `several_instances`: a run linked
      earlier by address alone is unlinked again when a second new instance shows up in its
      window). A run once judged ambiguous stays so: the instances that made it so still exist.
    Only runs never judged, and runs linked by address alone, are touched: one statement for
    every instance first seen in a request, whatever the size of the fleet.
    """
    for chunk in sql.chunks(instances, 4):
        decisions, params = _decisions("links", product_id=product_id, instances=chunk)
        update, update_params = _update("links_decision", now=now)
        with connection.cursor() as cursor:
            cursor.execute(f"WITH {decisions} {update}", [*params, *update_params])


def installations_link_cte(name: str, *, product_id: int, instances: Sequence[InstallEvidence],
                           now: datetime) -> tuple[str, list[Any]]:
    """PostgreSQL only: `installations_link` as entries of a WITH clause (the last one named `name`).

    PostgreSQL runs a data-modifying WITH entry whether or not the statement reads it, so the
    ingest writer links install runs in the same statement as it updates their instances, one
    round trip fewer per group of new instances. SQLite has no such entries.
    """
    decisions, params = _decisions(name, product_id=product_id, instances=instances)
    update, update_params = _update(f"{name}_decision", now=now)
    return f"{decisions}, {name} AS ({update} RETURNING 1)", [*params, *update_params]


def _decisions(prefix: str, *, product_id: int, instances: Sequence[InstallEvidence]) -> tuple[str, list[Any]]:
    """WITH entries ending in `<prefix>_decision(run_id, instance_pk, reason)`: what to write on which run."""
    t = sql.table(Installation)
    new, params = sql.rows_cte(f"{prefix}_new", (("pk", "bigint"), ("install_id", "text"), ("ip_hash", "text"),
                                                 ("first_seen", "timestamptz")),
                               [(i.pk, i.install_id, i.ip_hash, sql.dt_param(i.first_seen)) for i in instances])
    first_seen = sql.cast("n.first_seen", "timestamptz")
    window_end, window_params = sql.plus_seconds("i.last_seen", ADDRESS_LINK_WINDOW_SECONDS)
    alive_before = f"i.status = '{Installation.Status.FAILED}' AND {first_seen} < i.started_at"
    entries = f"""{new},
        {prefix}_by_id AS (
            SELECT i.id AS run_id, CASE WHEN {alive_before} THEN NULL ELSE n.pk END AS instance_pk,
                   CASE WHEN {alive_before} THEN '{_Link.ALIVE_BEFORE}' ELSE '{_Link.INSTALL_ID}' END AS reason
            FROM {prefix}_new n JOIN {t} i ON i.product_id = %s AND i.install_id = n.install_id
            WHERE n.install_id <> '' AND i.instance_id IS NULL),
        {prefix}_near AS (
            SELECT n.pk, n.ip_hash, i.id AS run_id, i.instance_id AS linked, i.link_reason AS was
            FROM {prefix}_new n JOIN {t} i ON i.product_id = %s AND i.ip_hash = n.ip_hash
            WHERE n.install_id = '' AND n.ip_hash <> ''
              AND i.started_at <= {first_seen} AND {first_seen} <= {window_end}),
        {prefix}_counted AS (
            SELECT c.run_id, c.pk, c.linked,
                   (SELECT COUNT(*) FROM {prefix}_new o WHERE o.ip_hash = c.ip_hash) AS crowd,
                   (SELECT COUNT(*) FROM {prefix}_near o WHERE o.pk = c.pk) AS runs
            FROM {prefix}_near c
            WHERE (c.was = '{_Link.NONE}' AND c.linked IS NULL)
               OR (c.was = '{_Link.ADDRESS}' AND c.linked IS NOT NULL)),
        {prefix}_by_address AS (
            SELECT run_id, CASE WHEN linked IS NULL AND crowd = 1 AND runs = 1 THEN pk END AS instance_pk,
                   CASE WHEN linked IS NOT NULL OR crowd > 1 THEN '{_Link.SEVERAL_INSTANCES}'
                        WHEN runs > 1 THEN '{_Link.SEVERAL_RUNS}' ELSE '{_Link.ADDRESS}' END AS reason
            FROM {prefix}_counted WHERE run_id NOT IN (SELECT run_id FROM {prefix}_by_id)),
        {prefix}_decision AS (
            SELECT run_id, MIN(instance_pk) AS instance_pk, MIN(reason) AS reason
            FROM (SELECT * FROM {prefix}_by_id UNION ALL SELECT * FROM {prefix}_by_address) AS d GROUP BY run_id)"""
    return entries, [*params, product_id, product_id, *window_params]


def _update(decisions: str, *, now: datetime) -> tuple[str, list[Any]]:
    t = sql.table(Installation)
    return f"""
        UPDATE {t} SET instance_id = d.instance_pk, link_reason = d.reason,
                       updated_at = {sql.cast("%s", "timestamptz")}
        FROM {decisions} AS d WHERE {t}.id = d.run_id""", [sql.dt_param(now)]
