"""Bounded database waits and stale connections (apps/core/db_health.py, the database settings).

PostgreSQL only where a socket is involved: a stuck server is a loopback proxy that stops
forwarding (the server's kernel still accepts, exactly as with a SIGSTOPped PostgreSQL); a
restarted server is `pg_terminate_backend` on the test's own connection.
"""

import contextlib
import select
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from django.core.management import get_commands
from django.db import OperationalError, connection, connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.test import Client

from apps.core.db_health import drop_if_closed_by_server, wait_deadline, without_time_limits
from apps.events.models import Event
from apps.products.models import Product
from telemetry_site.celery import use_job_statement_timeout

postgres_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs a PostgreSQL socket")


class FreezableProxy:
    """A loopback TCP proxy to the database; `freeze()` stops it forwarding without closing anything."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.frozen = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = [self.listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            server = socket.create_connection(self.upstream)
            self.sockets += [client, server]
            threading.Thread(target=self._pump, args=(client, server), daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        while True:
            try:
                data = source.recv(65536)
            except OSError:
                return
            while self.frozen.is_set():
                time.sleep(0.01)
            if not data:
                return
            try:
                target.sendall(data)
            except OSError:
                return

    def close(self) -> None:
        self.frozen.clear()
        for sock in self.sockets:
            # shutdown, not just close: a thread blocked in recv() keeps a closed socket open.
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


@pytest.fixture
def proxied_connection(settings: Any) -> Iterator[tuple[BaseDatabaseWrapper, FreezableProxy]]:
    settings.DATABASE_STATEMENT_TIMEOUT = 1
    settings.DATABASE_STUCK_GRACE = 1
    params = connection.settings_dict
    proxy = FreezableProxy((params["HOST"] or "127.0.0.1", int(params["PORT"] or 5432)))
    options = {**params["OPTIONS"], "application_name": "proxied-test"}
    wrapper = type(connections["default"])({**params, "HOST": "127.0.0.1", "PORT": str(proxy.port),
                                            "OPTIONS": options}, alias="proxied")
    try:
        yield wrapper, proxy
    finally:
        proxy.frozen.clear()
        wrapper.close()
        proxy.close()
        _wait_for_sessions_to_end("proxied-test")


def _wait_for_sessions_to_end(application_name: str) -> None:
    """The test database is dropped at the end: its sessions must be gone, not merely disconnected."""
    deadline = time.monotonic() + 10
    with connection.cursor() as cursor:
        while time.monotonic() < deadline:
            cursor.execute("SELECT pg_stat_clear_snapshot()")
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [application_name])
            if not cursor.fetchone()[0]:
                return
            time.sleep(0.05)


@postgres_only
@pytest.mark.django_db
def test_sessions_get_the_statement_and_idle_transaction_timeouts() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        assert cursor.fetchone()[0] == "15s"
        cursor.execute("SHOW idle_in_transaction_session_timeout")
        assert cursor.fetchone()[0] == "1min"
    options = connection.settings_dict["OPTIONS"]
    assert options["connect_timeout"] == 5
    assert options["keepalives"] == 1 and options["keepalives_idle"] == 30 and options["keepalives_count"] == 3


@postgres_only
@pytest.mark.django_db
def test_the_server_cancels_a_statement_past_its_timeout() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL statement_timeout = 200")
        started = time.monotonic()
        with pytest.raises(OperationalError, match="statement timeout"):
            cursor.execute("SELECT pg_sleep(5)")
    assert time.monotonic() - started < 2


@postgres_only
@pytest.mark.django_db
def test_a_stuck_server_costs_a_statement_its_deadline_and_no_more(
        proxied_connection: tuple[BaseDatabaseWrapper, FreezableProxy]) -> None:
    wrapper, proxy = proxied_connection
    assert wait_deadline() == 2
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT 1")
        proxy.frozen.set()
        started = time.monotonic()
        with pytest.raises(OperationalError, match="did not answer within 2 s"):
            cursor.execute("SELECT 1")
        waited = time.monotonic() - started
    assert 1.9 < waited < 4
    assert not wrapper.is_usable()  # given up: the next statement opens a new connection
    proxy.frozen.clear()
    wrapper.close()
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT 2")
        assert cursor.fetchone()[0] == 2


@postgres_only
@pytest.mark.django_db
def test_a_stuck_commit_is_given_up_too(proxied_connection: tuple[BaseDatabaseWrapper, FreezableProxy]) -> None:
    wrapper, proxy = proxied_connection
    wrapper.set_autocommit(False)
    with wrapper.cursor() as cursor:
        cursor.execute("SELECT 1")
    proxy.frozen.set()
    started = time.monotonic()
    with pytest.raises(OperationalError):
        wrapper.commit()
    assert time.monotonic() - started < 4


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_worker_runs_its_jobs_with_the_job_statement_timeout(settings: Any) -> None:
    options = settings.DATABASES["default"]["OPTIONS"]
    saved, saved_timeout = options["options"], settings.DATABASE_STATEMENT_TIMEOUT
    try:
        use_job_statement_timeout()
        assert settings.DATABASE_STATEMENT_TIMEOUT == settings.JOB_DATABASE_STATEMENT_TIMEOUT == 480
        with connection.cursor() as cursor:
            cursor.execute("SHOW statement_timeout")
            assert cursor.fetchone()[0] == "8min"
    finally:
        options["options"] = saved
        settings.DATABASE_STATEMENT_TIMEOUT = saved_timeout
        connection.close()


def _wait_readable(db: BaseDatabaseWrapper) -> None:
    poller = select.poll()
    poller.register(db.connection.pgconn.socket, select.POLLIN)
    assert poller.poll(5000), "the server never closed the terminated session"


def _terminate(db: BaseDatabaseWrapper) -> None:
    """What a database restart does to every open session: the server ends it."""
    with db.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    other = type(connections["default"])(dict(connection.settings_dict), alias="terminator")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()
    _wait_readable(db)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_an_idle_connection_the_server_ended_is_replaced_and_a_live_one_kept() -> None:
    connection.ensure_connection()
    alive = connection.connection
    assert not drop_if_closed_by_server(connection)
    assert connection.connection is alive
    _terminate(connection)
    assert drop_if_closed_by_server(connection)
    assert connection.connection is None
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_ingest_after_a_database_restart_is_stored_not_refused(product: Product) -> None:
    client = Client()

    def ping(message_id: str) -> Any:
        body = orjson.dumps({"type": "heartbeat", "instance_id": "i-1", "event": "ping", "version": "1.0.0",
                             "message_id": message_id})
        return client.post("/api/v1/ingest", data=body, content_type="application/json",
                           HTTP_X_TELEMETRY_KEY=product.ingest_key)

    assert ping("m-1").status_code == 200
    _terminate(connection)
    response = ping("m-2")
    assert response.status_code == 200, response.content
    assert Event.objects.filter(message_id__in=["m-1", "m-2"]).count() == 2


@pytest.mark.django_db
def test_sqlite_connections_are_left_alone() -> None:
    if connection.vendor != "sqlite":
        pytest.skip("SQLite")
    connection.ensure_connection()
    assert not drop_if_closed_by_server(connection)
    assert connection.connection is not None


def _statement_timeout() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SHOW statement_timeout")
        return cursor.fetchone()[0]


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_migrations_run_without_time_limits_and_the_session_gets_them_back() -> None:
    connection.ensure_connection()
    with without_time_limits(connection):
        assert _statement_timeout() == "0"
        connection.close()  # a connection opened inside (migrate may open one) gets none either
        assert _statement_timeout() == "0"
    assert _statement_timeout() == "15s"


def test_migrate_is_the_command_without_time_limits() -> None:
    assert get_commands()["migrate"] == "apps.core"
