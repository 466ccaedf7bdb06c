"""`make test-faults`: the platform under faults, as an operator would run it, with nothing lost.

Starts its own PostgreSQL cluster and Redis on spare loopback ports, the project's gunicorn
configuration with production settings and a Celery worker, and sends heartbeats and events with
unique message ids from a retrying client while it:
  stops the database (fast, then immediate) and starts it again; freezes it (SIGSTOP/SIGCONT);
  kills a gunicorn worker; kills a Celery pool process and then a whole worker in the middle of a
  rollup backfill; stops Redis.
Then it prints sent / acknowledged / stored / lost / doubled and fails (exit 1) on any lost or
doubled message, any 2xx while the database was down, any 5xx but 503, a request that waited
past the bound on a frozen database, a 503 once the database is back (a stale connection), a
backfill that did not finish by itself or differs from a rebuild, or an access log line holding a
client address or the ingest key.

Environment: FAULTS_PORT_BASE (default 56610: PostgreSQL, +1 Redis, +2 gunicorn), FAULTS_KEEP=1
keeps the temporary directory (logs) for a look after the run.
"""

import base64
import http.client
import os
import secrets
import signal
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psycopg

from tests.faults.load import LoadClient
from tests.faults.services import Postgres, Redis, celery_worker, children_of, gunicorn, manage, remove, wait_for

PORT_BASE = int(os.environ.get("FAULTS_PORT_BASE", "56610"))
STATEMENT_TIMEOUT, STUCK_GRACE, CONNECT_TIMEOUT = 3, 2, 2
# A request sent to a frozen database is answered within this: its statement is given up after
# STATEMENT_TIMEOUT + STUCK_GRACE, a new connection after CONNECT_TIMEOUT, plus queueing.
BOUND = 12.0
VISIBILITY_TIMEOUT = 20
# Seconds after the database is back by which every request must succeed again.
RECOVERY = 0.5
BACKFILL_DAYS = 120


@dataclass
class Window:
    name: str
    start: float
    end: float
    database_down: bool
    bound: float | None = None
    began: float = 0.0  # when it was asked to go down (`start`: when it was down)
    back: float = 0.0  # when the service answered again (pg_ctl start returned)


def log(text: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {text}", flush=True)


def settings_env(workdir: Path, pg: Postgres, redis: Redis) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items()
           if name not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")}
    env.update({
        "DJANGO_SETTINGS_MODULE": "telemetry_site.settings.production",
        "SECRET_KEY": secrets.token_urlsafe(64),
        # Plain HTTP on loopback: nothing here terminates TLS, so no redirect to https.
        "SECURE_SSL_REDIRECT": "false",
        # Production settings refuse to start without an answer-signing key (docs/signed-answers.md).
        "TELEMETRY_SIGNING_KEY": base64.b64encode(secrets.token_bytes(32)).decode(),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # The load client sends hundreds of requests a second from one address with one key; the
        # rate limits stay on (and count in Redis, failing open while it is down) but never refuse.
        "TELEMETRY_INGEST_RATE_PER_KEY": "1000000000/min",
        "TELEMETRY_INGEST_RATE_PER_ADDRESS": "1000000000/min",
        "DATABASE_URL": pg.url,
        "REDIS_URL": redis.url,
        "TELEMETRY_VAR_DIR": str(workdir / "var"),
        "GUNICORN_BIND": f"127.0.0.1:{PORT_BASE + 2}",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "8",
        "GUNICORN_ACCESS_LOG": str(workdir / "access.log"),
        # gunicorn's control socket defaults to one path in $HOME, shared with any other gunicorn.
        "GUNICORN_CMD_ARGS": f"--control-socket {workdir / 'gunicorn.ctl'}",
        "DATABASE_STATEMENT_TIMEOUT": str(STATEMENT_TIMEOUT),
        "DATABASE_STUCK_GRACE": str(STUCK_GRACE),
        "DATABASE_CONNECT_TIMEOUT": str(CONNECT_TIMEOUT),
        "JOB_DATABASE_STATEMENT_TIMEOUT": "10",
        "CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT),
        "CELERY_TASK_TIME_LIMIT": str(VISIBILITY_TIMEOUT - 5),
    })
    return env


def healthy(port: int) -> bool:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers={"X-Forwarded-Proto": "https"})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status == 200
    except OSError:
        return False


def chunked_heartbeat(port: int, key: str, failures: list[str]) -> None:
    """A body sent with Transfer-Encoding: chunked (no Content-Length) is read and stored."""
    body = orjson.dumps({"type": "heartbeat", "instance_id": "faults-chunked", "message_id": "chunked-1"})
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    connection.request("POST", "/api/v1/ingest", body=iter([body[:10], body[10:]]), encode_chunked=True,
                       headers={"Content-Type": "application/json", "X-Telemetry-Key": key})
    response = connection.getresponse()
    answer = response.read()
    connection.close()
    if response.status != 200 or orjson.loads(answer).get("accepted") != 1:
        failures.append(f"chunked body: {response.status} {answer[:200]!r}")
    else:
        log("a chunked heartbeat was read and stored")


def staff_api_status(port: int, token: str) -> tuple[int, str | None]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/api/v1/products/",
                                     headers={"Authorization": f"Token {token}", "X-Forwarded-Proto": "https"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.headers.get("Retry-After")
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Retry-After")


def outage(name: str, seconds: float, windows: list[Window], *, down: Any, up: Any, database_down: bool = True,
           bound: float | None = None, during: Any = None) -> None:
    log(f"{name}: for {seconds:g} s")
    began = time.monotonic()
    down()
    start = time.monotonic()
    if during:
        during()
    time.sleep(max(0.0, start + seconds - time.monotonic()))
    end = time.monotonic()
    up()
    windows.append(Window(name, start, end, database_down, bound, began=began, back=time.monotonic()))


def rollup_rows(pg: Postgres, first: str, last: str) -> tuple[int, list[tuple[Any, ...]]]:
    with psycopg.connect(pg.url.replace("postgres://", "postgresql://"), autocommit=True) as db:
        counted = db.execute("SELECT count(*) FROM rollups_dailyrollup WHERE day BETWEEN %s AND %s",
                             [first, last]).fetchone()
        assert counted is not None  # an aggregate answers one row
        built = counted[0]
        figures = db.execute(
            "SELECT product_id, day, active_instances, new_instances, heartbeats, events FROM rollups_dailyrollup "
            "WHERE day BETWEEN %s AND %s ORDER BY 1, 2", [first, last]).fetchall()
        breakdowns = db.execute(
            "SELECT product_id, day, dimension, key, count, instances FROM rollups_dailybreakdown "
            "WHERE day BETWEEN %s AND %s ORDER BY 1, 2, 3, 4", [first, last]).fetchall()
    return built, figures + breakdowns


def backfill_under_kills(pg: Postgres, env: dict[str, str], workdir: Path, failures: list[str]) -> None:
    """A rollup backfill whose pool process, then whole worker, is killed: it must finish by itself, right."""
    today = datetime.now(UTC).date()
    first, last = (today - timedelta(days=BACKFILL_DAYS)).isoformat(), (today - timedelta(days=1)).isoformat()
    worker = celery_worker(env, workdir / "celery.log")
    worker.start()
    try:
        wait_for(lambda: b"ready." in (workdir / "celery.log").read_bytes(), seconds=60, what="Celery worker ready")
        manage(env, "shell", "-c", f"from apps.rollups.tasks import build_rollups; build_rollups.delay('{first}', "
                                   f"'{last}')")
        log(f"backfill of {BACKFILL_DAYS} days sent")

        def mid_chunk(more_than: int) -> bool:
            built = rollup_rows(pg, first, last)[0]
            return more_than < built < BACKFILL_DAYS and built % 31 not in (0, 30)

        wait_for(lambda: mid_chunk(0), seconds=60, what="the backfill has started")
        children = children_of(worker.pid)
        log(f"SIGKILL the Celery pool process {children} mid-task ({rollup_rows(pg, first, last)[0]} days built)")
        for pid in children:
            os.kill(pid, signal.SIGKILL)
        progress = rollup_rows(pg, first, last)[0]
        wait_for(lambda: mid_chunk(progress), seconds=60, what="the backfill goes on after its pool process died")
        log(f"SIGKILL the whole Celery worker mid-task ({rollup_rows(pg, first, last)[0]} days built)")
        worker.kill_all()
        killed_at = time.monotonic()
        worker.start()
        wait_for(lambda: rollup_rows(pg, first, last)[0] == BACKFILL_DAYS, seconds=VISIBILITY_TIMEOUT + 90,
                 what="the killed worker's backfill is finished by a new worker")
        log(f"backfill finished by itself {time.monotonic() - killed_at:.0f} s after the worker was killed")
    except TimeoutError as exc:
        failures.append(f"backfill: {exc}")
        return
    finally:
        worker.stop()
    before = rollup_rows(pg, first, last)[1]
    manage(env, "build_rollups", "--from", first, "--to", last, "-v", "0")
    if rollup_rows(pg, first, last)[1] != before:
        failures.append("backfill: the rollups it left differ from a rebuild of the same days")
    else:
        log(f"backfill result equals a rebuild ({len(before)} rollup and breakdown rows)")


def verify(pg: Postgres, client: LoadClient, windows: list[Window], key: str, workdir: Path) -> list[str]:
    failures: list[str] = []
    with psycopg.connect(pg.url.replace("postgres://", "postgresql://"), autocommit=True) as db:
        rows = db.execute("SELECT e.message_id, count(*) FROM events_event e JOIN products_product p "
                          "ON p.id = e.product_id WHERE p.slug = 'faults' AND e.message_id <> 'chunked-1' "
                          "GROUP BY e.message_id").fetchall()
        totals = db.execute(
            "SELECT (SELECT coalesce(sum(heartbeat_count), 0) FROM instances_instance), "
            "(SELECT count(*) FROM events_event WHERE kind = 'heartbeat')").fetchone()
        assert totals is not None  # a SELECT without FROM answers one row
        counted, heartbeats = totals
    stored = {message_id for message_id, _ in rows}
    acknowledged = {m.message_id for m in client.messages if m.acknowledged}
    lost = acknowledged - stored
    doubled = sum(n - 1 for _, n in rows if n > 1) + max(0, counted - heartbeats)
    statuses: dict[int, int] = {}
    for answer in client.answers:
        statuses[answer.status] = statuses.get(answer.status, 0) + 1
    print()
    print(f"  sent          {len(client.messages):>8}")
    print(f"  acknowledged  {len(acknowledged):>8}")
    print(f"  stored        {len(stored):>8}   (stored but never acknowledged: {len(stored - acknowledged)})")
    print(f"  lost          {len(lost):>8}")
    print(f"  doubled       {doubled:>8}   (heartbeats counted on instances {counted}, stored {heartbeats})")
    print(f"  answers       {dict(sorted(statuses.items()))}   (0: connection refused/reset, retried)")
    if lost:
        failures.append(f"{len(lost)} acknowledged message(s) not stored, e.g. {sorted(lost)[:3]}")
    if doubled:
        failures.append(f"{doubled} message(s) stored or counted twice")
    for status, body in client.unexpected[:5]:
        failures.append(f"unexpected answer {status}: {body!r}")
    for index, window in enumerate(windows):
        inside = [a for a in client.answers if window.start < a.sent and a.received < window.end]
        # Once the database is back, no request may fail on a connection it ended (a stale one).
        # (A request sent just before the next fault may meet it: the last second is not judged.)
        until = windows[index + 1].began - 1.0 if index + 1 < len(windows) else float("inf")
        stale = [a for a in client.answers if window.back + RECOVERY < a.sent < until and a.status == 503]
        if window.database_down and stale:
            offsets = ", ".join(f"+{a.sent - window.back:.1f} s" for a in stale[:10])
            failures.append(f"after {window.name}: {len(stale)} request(s) answered 503 once the database was back "
                            f"(sent {offsets} after it was)")
        ok = sum(1 for a in inside if 200 <= a.status < 300)
        waits = [a.received - a.sent for a in inside if a.status]
        print(f"  {window.name:<34} answers {len(inside):>5}, 2xx {ok:>5}, longest wait "
              f"{max(waits, default=0):5.1f} s")
        if window.database_down and ok:
            failures.append(f"{window.name}: {ok} request(s) acknowledged while the database was down")
        if window.bound is not None:
            late = [a for a in client.answers if window.start < a.sent < window.end - window.bound
                    and (a.received - a.sent > window.bound or not 200 <= a.status < 600)]
            if late:
                failures.append(f"{window.name}: {len(late)} request(s) not answered within {window.bound:g} s")
        if not window.database_down and not ok:
            failures.append(f"{window.name}: ingest stored nothing although only Redis was down")
    access_log = (workdir / "access.log").read_text(errors="replace")
    if "127.0.0.1" in access_log or key in access_log:
        failures.append("the access log holds a client address or the ingest key")
    print(f"  access log    {access_log.count(chr(10))} lines, no client address or key: "
          f"{'127.0.0.1' not in access_log and key not in access_log}")
    return failures


def main() -> int:
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="telemetry-faults-"))
    os.chmod(workdir, 0o755)
    pg, redis = Postgres(workdir, PORT_BASE), Redis(workdir, PORT_BASE + 1)
    env = settings_env(workdir, pg, redis)
    web = gunicorn(env, workdir / "gunicorn.log")
    failures: list[str] = []
    client: LoadClient | None = None
    try:
        log(f"PostgreSQL on {pg.port}, Redis on {redis.port}, gunicorn on {PORT_BASE + 2} ({workdir})")
        pg.init()
        redis.start()
        manage(env, "migrate", "--noinput", "-v", "0")
        key = manage(env, "shell", "-c", "from apps.products.models import Product; print(Product.objects."
                     "get_or_create(slug='faults', defaults={'name': 'Faults'})[0].ingest_key)").split()[-1]
        token = manage(env, "shell", "-c", "from django.contrib.auth.models import User; from rest_framework.authtoken."
                       "models import Token; user = User.objects.create_user('faults', is_staff=True, is_superuser="
                       "True); print(Token.objects.create(user=user).key)").split()[-1]
        web.start()
        wait_for(lambda: healthy(PORT_BASE + 2), seconds=60, what="gunicorn answers /healthz")
        chunked_heartbeat(PORT_BASE + 2, key, failures)
        today = datetime.combine(datetime.now(UTC).date(), datetime.min.time(), tzinfo=UTC)
        client = LoadClient(PORT_BASE + 2, key, past_days=(today - timedelta(days=BACKFILL_DAYS), BACKFILL_DAYS))
        client.start()
        windows: list[Window] = []
        time.sleep(3)
        for mode in ("fast", "immediate"):
            outage(f"database stopped ({mode})", 4, windows, down=lambda mode=mode: pg.stop(mode), up=pg.start)
            time.sleep(4)
        probes: list[tuple[int, str | None]] = []
        outage("database stopped (staff API)", 2, windows, down=lambda: pg.stop("fast"), up=pg.start,
               during=lambda: probes.append(staff_api_status(PORT_BASE + 2, token)))
        time.sleep(1)
        probes.append(staff_api_status(PORT_BASE + 2, token))
        log(f"staff API with the database down, then back: {probes}")
        if probes != [(503, "30"), (200, None)]:
            failures.append(f"staff API: expected 503 with Retry-After while down, 200 once back; got {probes}")
        outage("database frozen (SIGSTOP)", BOUND + 6, windows, down=pg.freeze, up=pg.thaw, bound=BOUND)
        time.sleep(5)
        workers = children_of(web.pid)
        log(f"SIGKILL gunicorn worker {workers[0]} of {workers}")
        os.kill(workers[0], signal.SIGKILL)
        time.sleep(5)
        client.past_days = None  # the backfill's days stop changing before it starts
        time.sleep(2)
        backfill_under_kills(pg, env, workdir, failures)
        outage("Redis stopped (ingest goes on)", 5, windows, down=redis.stop, up=redis.start, database_down=False)
        time.sleep(3)
        log("stopping the load; messages in flight are retried until stored")
        client.stop()
        failures += verify(pg, client, windows, key, workdir)
    except Exception as exc:  # a harness step failed: report it as a failure, after cleaning up
        failures.append(f"harness: {exc.__class__.__name__}: {exc}")
    finally:
        if client is not None:
            client.stop(drain_seconds=0)
        web.stop()
        redis.cleanup()
        pg.cleanup()
        if os.environ.get("FAULTS_KEEP") != "1":
            remove(workdir)
    print()
    for failure in failures:
        print(f"FAIL: {failure}")
    print(f"fault tests {'FAILED' if failures else 'passed'} in {time.monotonic() - started:.0f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
