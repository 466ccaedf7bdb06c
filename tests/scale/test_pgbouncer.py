"""Session state behind PgBouncer in transaction mode (run by `make test-pgbouncer`, which starts one).

Consecutive transactions of one Django connection may run in different server sessions there:
the timeouts must come from PgBouncer's database entries, and nothing the project does may leave
a session setting behind for whichever client gets that server session next.
"""

import logging
import threading
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import connection, connections

from apps.core.db_health import without_time_limits
from telemetry_site.celery import use_job_statement_timeout

pytestmark = pytest.mark.skipif(settings.DATABASE_POOLER != "pgbouncer",
                                reason="needs DATABASE_URL to name a PgBouncer (make test-pgbouncer)")


def statement_timeouts(db: Any = connection, times: int = 6) -> set[str]:
    """statement_timeout as seen by `times` transactions, each free to land on another server session."""
    seen = set()
    for _ in range(times):
        with db.cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            seen.add(cursor.fetchone()[0])
    return seen


def busy_server_sessions(count: int) -> None:
    """Hold `count` transactions open at once, so PgBouncer has that many server sessions in its pool."""
    barrier = threading.Barrier(count)

    def hold() -> None:
        try:
            with connections["default"].cursor() as cursor:
                cursor.execute("BEGIN")
                barrier.wait(timeout=30)
                cursor.execute("SELECT 1")
                cursor.execute("COMMIT")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=hold) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)


@pytest.mark.django_db(transaction=True)
def test_web_sessions_get_the_web_statement_timeout_from_pgbouncer() -> None:
    assert "options" not in settings.DATABASES["default"]["OPTIONS"]
    assert connection.settings_dict["DISABLE_SERVER_SIDE_CURSORS"] is True
    busy_server_sessions(4)
    assert statement_timeouts() == {f"{settings.DATABASE_STATEMENT_TIMEOUT}s"}


@pytest.mark.django_db(transaction=True)
def test_migrate_leaves_no_session_setting_behind_in_the_pool() -> None:
    busy_server_sessions(4)
    with without_time_limits(connection):
        statement_timeouts()
    assert statement_timeouts(times=12) == {f"{settings.DATABASE_STATEMENT_TIMEOUT}s"}


@pytest.mark.django_db(transaction=True)
def test_a_worker_connects_to_the_jobs_entry_and_gets_the_job_timeout() -> None:
    # django.conf.settings itself, as the worker's signal handler changes it: restored by hand.
    database = settings.DATABASES["default"]
    saved_name, saved_timeout = database["NAME"], settings.DATABASE_STATEMENT_TIMEOUT
    try:
        use_job_statement_timeout()
        assert database["NAME"] == f"{saved_name}_jobs"
        assert statement_timeouts() == {f"{settings.JOB_DATABASE_STATEMENT_TIMEOUT // 60}min"}
    finally:
        database["NAME"] = saved_name
        settings.DATABASE_STATEMENT_TIMEOUT = saved_timeout
        connection.close()
    assert statement_timeouts() == {f"{settings.DATABASE_STATEMENT_TIMEOUT}s"}


@pytest.mark.django_db(transaction=True)
def test_an_entry_without_the_timeouts_is_reported(caplog: pytest.LogCaptureFixture) -> None:
    """The `*` entry of the test PgBouncer sets nothing: a connection through it says so in the log."""
    other = type(connections["default"])({**connection.settings_dict, "NAME": "postgres"}, alias="unconfigured")
    try:
        with caplog.at_level(logging.WARNING, logger="apps.core.db_health"):
            other.ensure_connection()
    finally:
        other.close()
    assert any("connect_query" in record.getMessage() for record in caplog.records)


@pytest.mark.django_db(transaction=True)
def test_repeated_statements_are_never_prepared_by_name() -> None:
    """psycopg prepares a statement run often enough under a name, which lives in one server
    session: behind PgBouncer the next transaction may not find it (or find another's)."""
    connection.ensure_connection()
    raw = connection.connection
    assert isinstance(raw, psycopg.Connection) and raw.prepare_threshold is None
    busy_server_sessions(4)
    for _ in range(20):
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM django_migrations WHERE app = %s", ["core"])
            assert cursor.fetchone()[0] >= 1
