"""Database connections that never wait without end and never fail a request for being stale.

Bounded waits. The server ends a statement after `statement_timeout` (settings: `options`), but a
server that is stuck (its processes stopped, a storage hang, a frozen VM) ends nothing, and TCP
keepalives see no problem because the server's kernel still answers. So every wait of this
process on a PostgreSQL connection gets a deadline of its own: `DATABASE_STATEMENT_TIMEOUT` plus
`DATABASE_STUCK_GRACE` seconds (the server's own timeout fires first whenever the server runs).
Past it the connection is closed and the caller gets Django's OperationalError: requests answer
503 with Retry-After and their threads are free again. psycopg already has the deadline
(`Connection.wait(timeout=…)`); it is given to each connection when it is created, without an
execute wrapper (which would take the ingest writer off its fast path, see apps/core/sql.py).

Stale connections. After a database restart every persistent connection is dead, and the first
statement on each would fail its request. Ingest skips Django's `SELECT 1` health check (one
round trip per request); `drop_if_closed_by_server` costs one poll(2) instead: a server that
ended a session (restart, `pg_terminate_backend`, crash) has sent its FATAL message and closed the
socket, which makes an idle connection readable. Such a connection is closed before use and the
next statement opens a new one. (A server that vanished without closing is left to the keepalives.)
"""

import logging
import select
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.conf import settings
from django.db.backends.base.base import BaseDatabaseWrapper
from psycopg import errors as pg_errors

logger = logging.getLogger(__name__)


def wait_deadline() -> float:
    """Seconds a statement may wait for the server before its connection is given up."""
    return float(settings.DATABASE_STATEMENT_TIMEOUT + settings.DATABASE_STUCK_GRACE)


def bound_waits(sender: Any, connection: BaseDatabaseWrapper, **kwargs: Any) -> None:
    """`connection_created` receiver: every wait on the new psycopg connection gets the deadline."""
    if connection.vendor != "postgresql":
        return
    raw = connection.connection
    wait = raw.wait
    if settings.DATABASE_POOLER:
        check_pooled_timeout(raw)
    elif getattr(connection, "unlimited", False):
        raw.execute("SET statement_timeout = 0")

    # Read once per connection, not on every wait (several per statement): settings go through a lazy object.
    limit = wait_deadline()

    def bounded_wait(gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        deadline = None if getattr(connection, "unlimited", False) else limit
        try:
            return wait(gen, interval, deadline if timeout is None else timeout)
        except pg_errors._WaitTimeout:
            # The statement's fate is unknown (a stuck server may still run it when it wakes):
            # the connection cannot be used again. Ingest answers 503; a retry is deduplicated.
            logger.warning("database: no answer within %g s; connection closed", deadline)
            raw.pgconn.finish()
            raise pg_errors.OperationalError(f"the database did not answer within {deadline:g} s") from None

    raw.wait = bounded_wait


def check_pooled_timeout(raw: Any) -> None:
    """Behind PgBouncer the statement timeout comes from its database entry (connect_query), which
    this process cannot see: say so loudly when the server's value is not the configured one."""
    expected = settings.DATABASE_STATEMENT_TIMEOUT * 1000
    cursor = raw.execute("SELECT setting FROM pg_settings WHERE name = 'statement_timeout'")
    actual = int(cursor.fetchone()[0])
    if actual != expected:
        logger.warning("database: statement_timeout through PgBouncer is %d ms, not the configured %d ms: "
                       "set it in PgBouncer's connect_query (docs/scaling.md)", actual, expected)


@contextmanager
def without_time_limits(db: BaseDatabaseWrapper) -> Iterator[None]:
    """No statement timeout and no deadline on `db` inside: for migrations, which may rewrite or
    index a large table for as long as it takes, and which an operator runs and watches.

    Behind PgBouncer a session `SET` would stay on a pooled server session and lift the timeout
    of whichever request gets it next: only the deadline of this side is lifted there, and long
    migrations are run against PostgreSQL directly (docs/scaling.md)."""
    db.unlimited = True  # type: ignore[attr-defined]
    session = db.vendor == "postgresql" and not settings.DATABASE_POOLER
    try:
        if session and db.connection is not None:
            with db.cursor() as cursor:
                cursor.execute("SET statement_timeout = 0")
        yield
    finally:
        db.unlimited = False  # type: ignore[attr-defined]
        if session and db.connection is not None and db.is_usable():
            with db.cursor() as cursor:
                cursor.execute("RESET statement_timeout")  # back to the session's configured value


def drop_if_closed_by_server(db: BaseDatabaseWrapper) -> bool:
    """Close `db`'s idle connection if the server has ended it; True when it did."""
    raw = db.connection
    if raw is None or db.vendor != "postgresql" or db.in_atomic_block:
        return False
    try:
        fileno = raw.pgconn.socket
    except pg_errors.OperationalError:  # already closed on our side
        fileno = -1
    if fileno >= 0:
        poller = select.poll()
        poller.register(fileno, select.POLLIN | select.POLLPRI)
        if not poller.poll(0):
            return False
    logger.info("database: the server ended an idle connection; opening a new one")
    db.close()
    return True
