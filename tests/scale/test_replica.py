"""The read replica against a real PostgreSQL streaming replica on loopback (`make test-replica`).

The test starts its own primary cluster and a hot standby made from it with pg_basebackup, migrates
the primary, and runs the app (gunicorn, test settings) with DATABASE_URL → primary and
DATABASE_REPLICA_URL → standby. With the standby's replay paused, what a page shows tells which
database it read: a row written since the pause exists only on the primary.
"""

import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
import requests

from tests.faults.services import PG_BIN, Managed, Postgres, gunicorn, manage, wait_for

from .replica import Standby

PORT_BASE = int(os.environ.get("REPLICA_PORT_BASE", "57080"))
PIN_SECONDS = 4.0

pytestmark = pytest.mark.skipif(os.environ.get("TELEMETRY_REPLICA_TEST") != "1",
                                reason="starts its own PostgreSQL clusters; run it with `make test-replica`")


def _require_binaries() -> None:
    missing = [name for name in ("initdb", "pg_ctl", "pg_basebackup") if not (PG_BIN / name).exists()]
    if missing:
        message = f"PostgreSQL server binaries missing in {PG_BIN}: {', '.join(missing)}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@dataclass
class Site:
    primary: Postgres
    standby: Standby
    server: Managed
    base: str
    token: str
    password: str
    workdir: Path

    def api(self) -> requests.Session:
        """A staff API client with the admin's token; it keeps cookies, as a browser does."""
        session = requests.Session()
        session.headers["Authorization"] = f"Token {self.token}"
        return session

    def admin(self) -> requests.Session:
        session = requests.Session()
        page = session.get(f"{self.base}/admin/login/", timeout=30)
        assert page.status_code == 200, page.text[:500]
        answer = session.post(f"{self.base}/admin/login/?next=/admin/", timeout=30, allow_redirects=False, data={
            "username": "admin", "password": self.password, "next": "/admin/",
            "csrfmiddlewaretoken": session.cookies["csrftoken"]})
        assert answer.status_code == 302, answer.text[:2000]
        return session

    def health(self) -> dict[str, Any]:
        return requests.get(f"{self.base}/healthz", timeout=30).json()


def _query(url: str, sql: str, *params: Any) -> Any:
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        row = conn.execute(sql, params).fetchone()
        return row[0] if row else None


def _caught_up(site: Site) -> bool:
    position = _query(site.primary.url, "SELECT pg_current_wal_lsn()::text")
    return bool(_query(site.standby.url, "SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", position))


def _slugs(answer: requests.Response) -> set[str]:
    assert answer.status_code == 200, answer.text[:500]
    return {row["slug"] for row in answer.json()["results"]}


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    _require_binaries()
    workdir = Path(tempfile.mkdtemp(prefix="telemetry-replica-"))
    primary = Postgres(workdir, PORT_BASE)
    standby = Standby(workdir / "standby", PORT_BASE + 1, primary)
    password = secrets.token_urlsafe(16)
    env = {name: value for name, value in os.environ.items()
           if name not in ("DATABASE_URL", "DATABASE_REPLICA_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "telemetry_site.settings.test",
        "DATABASE_URL": primary.url,
        "DATABASE_REPLICA_URL": standby.url,
        "DATABASE_REPLICA_CHECK_SECONDS": "0.5",
        "DATABASE_REPLICA_PIN_SECONDS": str(PIN_SECONDS),
        "TELEMETRY_VAR_DIR": str(workdir / "var"),
        "ADMIN_USERNAME": "admin",
        "ADMIN_PASSWORD": password,
        "GUNICORN_BIND": f"127.0.0.1:{PORT_BASE + 2}",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_THREADS": "4",
        "GUNICORN_ACCESS_LOG": str(workdir / "access.log"),
        "GUNICORN_CMD_ARGS": f"--control-socket {workdir / 'gunicorn.ctl'}",
    })
    server = gunicorn(env, workdir / "gunicorn.log")
    try:
        primary.init()
        assert _query(primary.url, "SHOW wal_level") in ("replica", "logical")
        standby.init()
        assert _query(standby.url, "SELECT pg_is_in_recovery()") is True
        manage(env, "migrate", "--noinput")
        manage(env, "ensure_admin")
        token = re.search(r"Generated token (\w+)", manage(env, "drf_create_token", "admin"))
        assert token, "no API token"
        server.start()
        base = f"http://127.0.0.1:{PORT_BASE + 2}"

        def answers() -> bool:
            try:
                return requests.get(f"{base}/healthz", timeout=5).status_code == 200
            except requests.RequestException:
                return False

        wait_for(answers, seconds=60, what="the app answers /healthz")
        yield Site(primary, standby, server, base, token.group(1), password, workdir)
    except BaseException:
        for log in ("gunicorn.log", "postgres.log", "standby/postgres.log"):
            path = workdir / log
            if path.exists():
                print(f"--- {log}\n{path.read_text()[-4000:]}")
        raise
    finally:
        server.stop()
        standby.cleanup()
        primary.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)


def test_reads_from_the_replica_and_writers_read_their_writes(site: Site) -> None:
    # The first look at the replica: its lag is known before the admin's login, which pins that
    # session to the primary for the pin interval plus the lag.
    wait_for(lambda: site.health().get("replica") == "ok", seconds=30, what="the app sees the replica")
    admin = site.admin()
    wait_for(lambda: _caught_up(site), seconds=30, what="the standby replays the login")
    _query(site.standby.url, "SELECT pg_wal_replay_pause()")
    wait_for(lambda: _query(site.standby.url, "SELECT pg_get_wal_replay_pause_state()") == "paused", seconds=30,
             what="replay paused")
    try:
        writer, reader = site.api(), site.api()
        created = writer.post(f"{site.base}/api/v1/products/", json={"slug": "replica-check", "name": "Replica Check"},
                              timeout=30)
        assert created.status_code == 201, created.text[:500]
        assert "telemetry_primary_until" in writer.cookies

        # Ingest with a replica configured: a heartbeat for the new product (which the replica does
        # not have) is stored, on the primary.
        ping = requests.post(f"{site.base}/api/v1/ingest", timeout=30,
                             headers={"X-Telemetry-Key": created.json()["ingest_key"]},
                             json={"type": "heartbeat", "instance_id": "replica-instance", "message_id": "replica-1",
                                   "version": "1.0.0"})
        assert ping.status_code in (200, 202), ping.text[:500]

        # The writes are on the primary only; the standby has not replayed them.
        count = "SELECT count(*) FROM products_product WHERE slug = 'replica-check'"
        assert _query(site.primary.url, count) == 1
        assert _query(site.standby.url, count) == 0
        instances = "SELECT count(*) FROM instances_instance WHERE instance_id = 'replica-instance'"
        assert _query(site.primary.url, instances) == 1
        assert _query(site.standby.url, instances) == 0

        # Read-your-writes: the client that wrote reads from the primary.
        assert "replica-check" in _slugs(writer.get(f"{site.base}/api/v1/products/", timeout=30))
        assert writer.get(f"{site.base}/api/v1/products/replica-check/", timeout=30).status_code == 200

        # Everyone else's staff API reads come from the replica, which does not have it yet.
        assert "replica-check" not in _slugs(reader.get(f"{site.base}/api/v1/products/", timeout=30))
        assert reader.get(f"{site.base}/api/v1/products/replica-check/", timeout=30).status_code == 404

        # The admin's dashboards and CSV exports too, once its own pin from the login is over;
        # the page shows the replica's lag, above zero while replay is paused.
        def admin_reads_replica() -> bool:
            page = admin.get(f"{site.base}/admin/fleet/", timeout=30)
            assert page.status_code == 200, page.text[:500]
            return "Replica Check" not in page.text and 'data-state="ok"' in page.text

        wait_for(admin_reads_replica, seconds=3 * PIN_SECONDS + 10, what="the fleet overview reads the replica")
        page = admin.get(f"{site.base}/admin/fleet/", timeout=30).text
        lag = re.search(r'data-lag-seconds="([0-9.]+)"', page)
        assert lag and float(lag.group(1)) > 0, page[:3000]
        assert site.health()["replica_lag_seconds"] > 0
        export = admin.get(f"{site.base}/admin/products/product/export.csv", timeout=30)
        assert export.status_code == 200
        assert "replica-check" not in export.text

        # Writes by anyone always land on the primary, whatever they read.
        changed = reader.patch(f"{site.base}/api/v1/products/replica-check/", json={"name": "Replica Checked"},
                               timeout=30)
        assert changed.status_code == 200, changed.text[:500]
        assert _query(site.primary.url, "SELECT name FROM products_product WHERE slug = 'replica-check'") == \
            "Replica Checked"
    finally:
        _query(site.standby.url, "SELECT pg_wal_replay_resume()")

    reader = site.api()
    wait_for(lambda: "replica-check" in _slugs(reader.get(f"{site.base}/api/v1/products/", timeout=30)),
             seconds=30, what="the replica catches up and shows the product")


def test_replica_stopped_pages_answer_from_the_primary(site: Site) -> None:
    reader = site.api()
    wait_for(lambda: site.health().get("replica") == "ok", seconds=30, what="the app sees the replica")
    admin = site.admin()
    # Written while replay is paused, then the standby stops: only the primary ever has this row.
    _query(site.standby.url, "SELECT pg_wal_replay_pause()")
    created = site.api().post(f"{site.base}/api/v1/products/", json={"slug": "while-down", "name": "While Down"},
                              timeout=30)
    assert created.status_code == 201, created.text[:500]
    site.standby.stop("fast")

    # Whether the app has noticed yet or learns it from this very read, the answer comes from the primary.
    slugs = _slugs(reader.get(f"{site.base}/api/v1/products/", timeout=30))
    assert {"replica-check", "while-down"} <= slugs
    overview = admin.get(f"{site.base}/admin/fleet/", timeout=30)
    assert overview.status_code == 200 and "While Down" in overview.text
    assert reader.get(f"{site.base}/api/v1/products/while-down/", timeout=30).status_code == 200
    export = admin.get(f"{site.base}/admin/products/product/export.csv", timeout=30)
    assert export.status_code == 200 and "while-down" in export.text

    health = site.health()
    assert health["status"] in ("ok", "degraded") and health["replica"] == "down"
    assert 'data-state="down"' in admin.get(f"{site.base}/admin/fleet/", timeout=30).text
