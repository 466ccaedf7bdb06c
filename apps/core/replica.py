"""The read replica as this process sees it: is there one, can it be reached, how far behind is it.

One short query on the replica at most every `DATABASE_REPLICA_CHECK_SECONDS` per process, so the
views that read from it, the admin's status line and `/healthz` cost no round trip of their own.
While one thread asks, the others go on with the last answer (or, before the first, the primary).
"""

import contextlib
import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, InterfaceError, connections
from django.utils import timezone

logger = logging.getLogger(__name__)

REPLICA_ALIAS = "replica"

# Seconds the replica is behind: 0 when it has replayed everything it received (an idle primary
# writes nothing, and its last replayed commit may be hours old); else the age of the last commit
# it replayed. A server that is not in recovery is a primary (promoted, or the same server).
_LAG_SQL = """
SELECT CASE
    WHEN NOT pg_is_in_recovery() THEN 0
    WHEN pg_last_wal_receive_lsn() = pg_last_wal_replay_lsn() THEN 0
    ELSE EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())
END
"""


@dataclass(frozen=True)
class ReplicaStatus:
    configured: bool
    reachable: bool = False
    lag_seconds: float | None = None  # None: unknown (unreachable, or nothing replayed yet)
    error: str = ""
    checked_at: datetime | None = None

    @property
    def usable(self) -> bool:
        return (self.reachable and self.lag_seconds is not None
                and self.lag_seconds <= settings.DATABASE_REPLICA_MAX_LAG)

    @property
    def state(self) -> str:
        """`none` (no replica configured), `down`, `lagging` (reads on the primary) or `ok`."""
        if not self.configured:
            return "none"
        if not self.reachable:
            return "down"
        return "ok" if self.usable else "lagging"

    def describe(self) -> str:
        if self.state == "none":
            return "no read replica"
        if self.state == "down":
            return f"read replica unreachable ({self.error or 'not checked yet'}): reads use the primary"
        lag = "unknown" if self.lag_seconds is None else f"{self.lag_seconds:.1f} s"
        if self.state == "lagging":
            return f"read replica lag {lag}, above {settings.DATABASE_REPLICA_MAX_LAG:g} s: reads use the primary"
        return f"read replica lag {lag}"


_NO_REPLICA = ReplicaStatus(configured=False)
_lock = threading.Lock()
_last: tuple[float, ReplicaStatus] | None = None


def replica_alias() -> str | None:
    """The replica's database alias; None without one, or when it names the primary's own database
    (the test suite's mirror: a second connection would not see the rows of the test's transaction)."""
    if REPLICA_ALIAS not in settings.DATABASES:
        return None
    replica, primary = connections[REPLICA_ALIAS].settings_dict, connections[DEFAULT_DB_ALIAS].settings_dict
    if all(replica.get(key) == primary.get(key) for key in ("HOST", "PORT", "NAME")):
        return None
    return REPLICA_ALIAS


def _check(alias: str) -> ReplicaStatus:
    db = connections[alias]
    try:
        with db.cursor() as cursor:
            cursor.execute(_LAG_SQL)
            row = cursor.fetchone()
    except (DatabaseError, InterfaceError) as exc:
        with contextlib.suppress(DatabaseError, InterfaceError):  # already broken: the next use opens a new one
            db.close()
        return ReplicaStatus(configured=True, error=exc.__class__.__name__, checked_at=timezone.now())
    lag = None if row is None or row[0] is None else max(0.0, float(row[0]))
    return ReplicaStatus(configured=True, reachable=True, lag_seconds=lag, checked_at=timezone.now())


def _remember(status: ReplicaStatus) -> None:
    global _last
    previous = _last[1].state if _last else None
    _last = (time.monotonic(), status)
    if status.state != previous and status.state != "ok":
        logger.warning("database: %s", status.describe())
    elif status.state != previous:
        logger.info("database: %s", status.describe())


def replica_status() -> ReplicaStatus:
    """What is known about the replica, asked again when the last answer is older than the check interval."""
    alias = replica_alias()
    if alias is None:
        return _NO_REPLICA
    last = _last
    if last is not None and time.monotonic() - last[0] < settings.DATABASE_REPLICA_CHECK_SECONDS:
        return last[1]
    if not _lock.acquire(blocking=False):  # another thread is asking: no one waits for it
        return last[1] if last else ReplicaStatus(configured=True, error="not checked yet")
    try:
        status = _check(alias)
        _remember(status)
    finally:
        _lock.release()
    return status


def last_replica_status() -> ReplicaStatus:
    """The last answer without asking again (for a response that must not wait on the replica)."""
    if replica_alias() is None:
        return _NO_REPLICA
    return _last[1] if _last else ReplicaStatus(configured=True, error="not checked yet")


def replica_mark_down(error: str) -> None:
    """A read on the replica failed: the primary takes its reads until the next check."""
    if replica_alias() is not None:
        _remember(ReplicaStatus(configured=True, error=error, checked_at=timezone.now()))


def replica_forget() -> None:
    """Ask again at the next use (tests, and after a settings change)."""
    global _last
    _last = None
