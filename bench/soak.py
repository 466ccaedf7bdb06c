"""`make soak`: the platform under ten minutes of mixed load, watched every minute.

Starts a private PostgreSQL cluster and Redis on loopback (tests/faults/services.py), gunicorn with
production settings, one Celery worker and beat with a fast schedule (heartbeat staleness and alert
evaluation every 30 s, rollups every minute), then sends, all at once:
  heartbeats   native /api/v1/ingest from a pool of instances, a unique message id each;
  batches      Segment /v1/batch and PostHog /batch/ in turn, BATCH_EVENTS events each;
  staff API    list reads with a staff token (products, instances, events, daily rollups);
  dashboard    the fleet overview, a product's dashboard and its live.json, as a logged-in admin.
The product's heartbeat interval is a minute, so instances go stale and come back while it runs
and the jobs have work. Every minute it prints requests, errors, p50 and p99 per kind, the jobs
the worker finished and failed, and the resident memory (RSS) of every gunicorn worker and Celery
process. Exit 1 on any error (a non-2xx answer or no answer, a failed task) or on memory that
grows: the last minute's RSS of gunicorn's workers or of the Celery processes more than
MEMORY_GROWTH above the second minute's.

Environment: SOAK_MINUTES (default 10), SOAK_PORT_BASE (default 57150: PostgreSQL, +1 Redis,
+2 gunicorn), SOAK_KEEP=1 keeps the temporary directory (logs).
"""

import http.client
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.faults.run import healthy, log, settings_env
from tests.faults.services import (
    VENV_BIN,
    Managed,
    Postgres,
    Redis,
    celery_worker,
    children_of,
    gunicorn,
    manage,
    remove,
    wait_for,
)

MINUTES = float(os.environ.get("SOAK_MINUTES", "10"))
PORT_BASE = int(os.environ.get("SOAK_PORT_BASE", "57150"))
SLUG = "soak"
INSTANCES = 3000
BATCH_EVENTS = 50
MEMORY_GROWTH = 0.10
# Requests per second per thread of each kind, and threads: about 40 heartbeats, 100 batch events,
# 2 staff API reads and 1 dashboard page a second, well under saturation on a shared 2-core machine.
KINDS = {"heartbeat": (10.0, 4), "batch": (2.0, 1), "staff_api": (2.0, 1), "dashboard": (1.0, 1)}
API_PATHS = ("/api/v1/products/", f"/api/v1/instances/?product={SLUG}", f"/api/v1/events/?product={SLUG}",
             f"/api/v1/rollups/daily/?product={SLUG}")
DASHBOARD_PATHS = ("/admin/fleet/", f"/admin/fleet/{SLUG}/", f"/admin/fleet/{SLUG}/live.json")
FAST_SCHEDULE = {"check-heartbeats": 30, "evaluate-alerts": 30, "build-rollups": 60}
TASK_LINE = re.compile(r"Task ([\w.]+)\[[0-9a-f-]+\] (succeeded|raised|retry)")


@dataclass
class Sample:
    kind: str
    at: float
    seconds: float
    ok: bool
    what: str = ""


@dataclass
class Load:
    port: int
    key: str
    token: str
    session_cookie: str
    samples: list[Sample] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    def start(self) -> None:
        for kind, (rate, threads) in KINDS.items():
            for index in range(threads):
                thread = threading.Thread(target=self._run, args=(kind, rate, index), daemon=True)
                thread.start()
                self._threads.append(thread)

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(90)

    def _run(self, kind: str, rate: float, index: int) -> None:
        rng = random.Random(f"{kind}-{index}")
        connection: http.client.HTTPConnection | None = None
        sequence = 0
        while not self._stop.is_set():
            started = time.monotonic()
            method, path, body, headers = self._request(kind, rng, sequence)
            sequence += 1
            connection = connection or http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            try:
                connection.request(method, path, body=body, headers={"X-Forwarded-Proto": "https", **headers})
                response = connection.getresponse()
                content = response.read()
                ok, what = 200 <= response.status < 300, f"{response.status} {path} {content[:200]!r}"
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                connection, ok, what = None, False, f"no answer {path}: {exc.__class__.__name__}"
            with self._lock:
                self.samples.append(Sample(kind, started, time.monotonic() - started, ok, "" if ok else what))
            self._stop.wait(max(0.0, 1.0 / rate - (time.monotonic() - started)))

    def _request(self, kind: str, rng: random.Random, sequence: int) -> tuple[str, str, bytes | None, dict[str, str]]:
        now = datetime.now(UTC).isoformat()
        ingest = {"Content-Type": "application/json", "X-Telemetry-Key": self.key}
        if kind == "heartbeat":
            return "POST", "/api/v1/ingest", orjson.dumps({
                "type": "heartbeat", "instance_id": f"soak-{rng.randrange(INSTANCES)}", "message_id": uuid.uuid4().hex,
                "version": rng.choice(["1.0.0", "1.1.0", "2.0.0"]), "os": "linux", "timestamp": now}), ingest
        if kind == "batch" and sequence % 2:
            return "POST", "/batch/", orjson.dumps({"api_key": self.key, "batch": [
                {"event": rng.choice(["query", "deploy"]), "uuid": str(uuid.uuid4()), "distinct_id": f"user-{i}",
                 "timestamp": now, "properties": {"$instance_id": f"soak-{rng.randrange(INSTANCES)}"}}
                for i in range(BATCH_EVENTS)]}), ingest
        if kind == "batch":
            return "POST", "/v1/batch", orjson.dumps({"sentAt": now, "batch": [
                {"type": "track", "event": rng.choice(["QUERY_EXECUTED", "PAGE_VIEW"]), "messageId": uuid.uuid4().hex,
                 "anonymousId": f"anon-{i}", "timestamp": now,
                 "properties": {"instanceId": f"soak-{rng.randrange(INSTANCES)}"}}
                for i in range(BATCH_EVENTS)]}), ingest
        if kind == "staff_api":
            return "GET", API_PATHS[sequence % len(API_PATHS)], None, {"Authorization": f"Token {self.token}"}
        return "GET", DASHBOARD_PATHS[sequence % len(DASHBOARD_PATHS)], None, {"Cookie": self.session_cookie}

    def window(self, start: float, end: float) -> list[Sample]:
        with self._lock:
            return [s for s in self.samples if start <= s.at < end]


def rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def memory(web: Managed, processes: dict[str, Managed]) -> dict[str, dict[int, int]]:
    """RSS in KiB per pid: gunicorn's workers, and each Celery process (main and pool) by role."""
    found = {"gunicorn workers": {pid: rss_kb(pid) for pid in children_of(web.pid)}}
    for name, process in processes.items():
        found[name] = {pid: rss_kb(pid) for pid in [process.pid, *children_of(process.pid)]}
    return found


def tasks(workdir: Path) -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for name, outcome in TASK_LINE.findall((workdir / "worker.log").read_text(errors="replace")):
        key = (name.rsplit(".", 1)[-1], outcome)
        counts[key] = counts.get(key, 0) + 1
    return counts


def report_minute(minute: int, samples: list[Sample], rss: dict[str, dict[int, int]],
                  jobs: dict[tuple[str, str], int], before: dict[tuple[str, str], int]) -> int:
    print(f"\n-- minute {minute}")
    errors = 0
    for kind in KINDS:
        mine = [s for s in samples if s.kind == kind]
        times = sorted(s.seconds * 1000 for s in mine)
        failed = [s for s in mine if not s.ok]
        errors += len(failed)
        p50 = statistics.median(times) if times else 0.0
        p99 = times[min(len(times) - 1, int(len(times) * 0.99))] if times else 0.0
        print(f"   {kind:<10} requests {len(mine):>6}  errors {len(failed):>4}  p50 {p50:7.1f} ms  p99 {p99:7.1f} ms")
        for sample in failed[:3]:
            print(f"     error: {sample.what}")
    done = {key: n - before.get(key, 0) for key, n in jobs.items() if n - before.get(key, 0)}
    failed_jobs = sum(n for (_, outcome), n in done.items() if outcome != "succeeded")
    print("   jobs       " + (", ".join(f"{name} {outcome} {n}" for (name, outcome), n in sorted(done.items()))
                              or "none finished"))
    for role, pids in rss.items():
        print(f"   RSS {role:<17} " + ", ".join(f"{pid}: {kb / 1024:.0f} MiB" for pid, kb in pids.items()))
    return errors + failed_jobs


def setup(env: dict[str, str]) -> tuple[str, str, str]:
    """Product, staff token, an admin session cookie, and the fast schedule; returns key, token, cookie."""
    manage(env, "setup_schedules")
    script = f"""
from django.conf import settings
from django.contrib.auth.models import User
from django.test import Client
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from rest_framework.authtoken.models import Token
from apps.products.models import Product
product = Product.objects.create(slug="{SLUG}", name="Soak", heartbeat_interval=60, stale_after=90, dead_after=300)
user = User.objects.create_superuser("soak", password=None)
client = Client()
client.force_login(user)
for name, seconds in {FAST_SCHEDULE!r}.items():
    every, _ = IntervalSchedule.objects.get_or_create(every=seconds, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.filter(name=name).update(interval=every, crontab=None, expire_seconds=seconds)
print(product.ingest_key, Token.objects.create(user=user).key,
      settings.SESSION_COOKIE_NAME + "=" + client.cookies[settings.SESSION_COOKIE_NAME].value)
"""
    key, token, cookie = manage(env, "shell", "-c", script).split()[-3:]
    return key, token, cookie


def beat(env: dict[str, str], workdir: Path) -> Managed:
    return Managed("beat", [str(VENV_BIN / "celery"), "-A", "telemetry_site", "beat", "--loglevel", "INFO",
                            "--pidfile", str(workdir / "beat.pid"), "--scheduler",
                            "django_celery_beat.schedulers:DatabaseScheduler"], env, workdir / "beat.log")


def judge_memory(history: list[dict[str, dict[int, int]]]) -> list[str]:
    """The last minute against the second (the first holds imports and warm-up), per role, summed."""
    if len(history) < 2:
        return []
    base, last = history[1 if len(history) > 2 else 0], history[-1]
    failures = []
    for role in base:
        first_kb, last_kb = sum(base[role].values()), sum(last.get(role, {}).values())
        growth = (last_kb - first_kb) / first_kb if first_kb else 0.0
        print(f"   memory {role:<17} {first_kb / 1024:6.0f} MiB -> {last_kb / 1024:6.0f} MiB ({growth:+.1%})")
        if growth > MEMORY_GROWTH:
            failures.append(f"memory of {role} grew {growth:.1%} (more than {MEMORY_GROWTH:.0%})")
    return failures


def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]  # minutes show as they end
    began = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="telemetry-soak-"))
    os.chmod(workdir, 0o755)
    pg, redis = Postgres(workdir, PORT_BASE), Redis(workdir, PORT_BASE + 1)
    env = {**settings_env(workdir, pg, redis), "GUNICORN_BIND": f"127.0.0.1:{PORT_BASE + 2}",
           # A busy machine, not a failing one: the fault run's tight timeouts would make noise here.
           "DATABASE_STATEMENT_TIMEOUT": "20", "JOB_DATABASE_STATEMENT_TIMEOUT": "120",
           "CELERY_VISIBILITY_TIMEOUT": "300", "CELERY_TASK_TIME_LIMIT": "240"}
    web = gunicorn(env, workdir / "gunicorn.log")
    jobs = {"celery worker": celery_worker(env, workdir / "worker.log", name="soak"), "celery beat": beat(env, workdir)}
    failures: list[str] = []
    load: Load | None = None
    try:
        log(f"PostgreSQL on {pg.port}, Redis on {redis.port}, gunicorn on {PORT_BASE + 2} ({workdir}); "
            f"{MINUTES:g} minute(s), load average {os.getloadavg()[0]:.1f}")
        pg.init()
        redis.start()
        manage(env, "migrate", "--noinput", "-v", "0")
        key, token, cookie = setup(env)
        for process in (web, *jobs.values()):
            process.start()
        wait_for(lambda: healthy(PORT_BASE + 2), seconds=90, what="gunicorn answers /healthz")
        wait_for(lambda: b"ready." in (workdir / "worker.log").read_bytes(), seconds=90, what="Celery worker ready")
        load = Load(PORT_BASE + 2, key, token, cookie)
        start = time.monotonic()
        load.start()
        history: list[dict[str, dict[int, int]]] = []
        seen: dict[tuple[str, str], int] = {}
        errors = 0
        for minute in range(1, int(MINUTES + 0.999) + 1):
            end = start + min(minute, MINUTES) * 60
            time.sleep(max(0.0, end - time.monotonic()))
            history.append(memory(web, jobs))
            counted = tasks(workdir)
            errors += report_minute(minute, load.window(start + (minute - 1) * 60, end), history[-1], counted, seen)
            seen = counted
        load.stop()
        total = load.window(start, float("inf"))
        ran = sum(n for (_, outcome), n in seen.items() if outcome == "succeeded")
        print(f"\n-- {len(total)} requests in {MINUTES:g} minute(s), errors {errors} (failed tasks included), "
              f"tasks succeeded {ran}, load average {os.getloadavg()[0]:.1f}")
        if errors:
            failures.append(f"{errors} error(s)")
        if not ran:
            failures.append("no scheduled job ran")
        failures += judge_memory(history)
    except Exception as exc:  # a harness step failed: report it as a failure, after cleaning up
        failures.append(f"harness: {exc.__class__.__name__}: {exc}")
    finally:
        if load is not None:
            load.stop()
        for process in (web, *jobs.values()):
            process.stop()
        redis.cleanup()
        pg.cleanup()
        if os.environ.get("SOAK_KEEP") != "1":
            remove(workdir)
    print()
    for failure in failures:
        print(f"FAIL: {failure}")
    print(f"soak {'FAILED' if failures else 'passed'} in {time.monotonic() - began:.0f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
