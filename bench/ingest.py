"""Ingest benchmark: the ingest endpoints against the limits of this machine, measured in the same run.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/telemetry_bench .venv/bin/python bench/ingest.py
    (or `make bench-ingest`)

What it does, in order:
1. migrates the bench database, empties it (its name must contain "bench"; `--no-reset` keeps it) and
   creates one product per scenario, so every scenario's rows can be counted on their own;
2. starts gunicorn with docker/gunicorn.conf.py (its threaded workers: one process per core, 16 threads, unless
   --workers/--server-threads; ingest requests of one process share commits), the production
   settings (throwaway SECRET_KEY and ALLOWED_HOSTS, persistent connections: CONN_MAX_AGE) plus one
   benchmark-only no-database view served behind CommonMiddleware alone, the smallest Django view
   (bench/settings.py, bench/middleware.py), bound to 127.0.0.1 only;
3. drives it with wrk (bench/ingest.lua, 1 thread) on loopback, one fixed-length run per scenario:
   limit 1 (the smallest Django JSON view), heartbeats (native /api/v1/ingest, a new instance per request),
   heartbeats paced at ~70 % of the measured saturation rate, Segment /v1/batch with 100 events per
   request, and the same gzip-compressed (bodies built beforehand, each sent once);
4. after each batch round, while the server idles, measures limit 2: psycopg COPY of the rows that
   round stored into a table created `LIKE events_event INCLUDING ALL` (same columns, defaults and
   indexes), 100 rows per transaction, and once as one big COPY for reference;
5. checks that every acknowledged event is stored exactly once, and prints one table with the ratios
   next to the goals;
6. writes the figures as JSON (`--json`, by default bench/results/ingest.json, kept in the repository):
   bench/capacity.py plans the nodes from the latest measured run (docs/scaling.md).

The Lua script stops sending `--drain` seconds before wrk stops, so no request is in flight when wrk
ends: every request sent got its answer, and "stored == acknowledged" can be checked exactly.
Rates are counted over the window from the first request sent to the last answer received.
"""

from __future__ import annotations

import argparse
import base64
import gzip
import math
import os
import resource
import runpy
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import orjson

REPO = Path(__file__).resolve().parents[1]
LUA = REPO / "bench" / "ingest.lua"
GUNICORN_CONF = REPO / "docker" / "gunicorn.conf.py"
PORTS = range(18000, 18100)
RESULTS = REPO / "bench" / "results" / "ingest.json"
# Batch events name one of this many instances, created beforehand as a fleet would have them.
FLEET_SIZE = 100
EVENT_NAMES = ["API_CALL", "PAGE_VIEW", "QUERY_EXECUTED", "WIDGET_DRAGGED", "DATASOURCE_CREATED"]
# Goals and reference figures of issue 7 (2 cores, PostgreSQL 15, gunicorn sync, wrk on loopback).
GOAL_RATIO = 0.5
GOAL_P99_MS = 50.0
REFERENCE = {
    "limit1": "≈ 3,500 req/s (bare Django JSON view)",
    "copy100": "≈ 30,000 rows/s",
    "copy_all": "≈ 51,000 rows/s",
    "heartbeat": "healthchecks.io ≈ 300/s (persistent conns); RudderStack ≈ 1,700/s",
}


@dataclass
class Scenario:
    key: str
    label: str
    path: str
    mode: str  # heartbeat | batch | bodies (see bench/ingest.lua)
    events_per_request: int
    product_slug: str = ""
    product_id: int = 0
    ingest_key: str = ""
    rate: float = 0.0  # requests/s per thread; 0: saturation
    rounds: list[dict] = field(default_factory=list)
    copies: list[dict] = field(default_factory=list)  # limit 2, measured after each batch round
    result: dict = field(default_factory=dict)
    check: str = ""
    bodies_used: int = 0  # gzip: pre-built bodies consumed by earlier rounds
    known: bool = False  # heartbeats from the fleet created beforehand (keep-alives), not new instances

    @property
    def fleet(self) -> str:
        return f"{self.product_slug}-fleet"

    def aggregate(self) -> None:
        """Counts add up over rounds; p50 is the median round's, p99 the worst round's."""
        rounds = self.rounds
        if not rounds:
            return
        total = {k: sum(r[k] for r in rounds) for k in ("ok", "sent", "bad", "errors", "exhausted", "active_ms")}
        active_s = total["active_ms"] / 1000
        request_rate = total["ok"] / active_s if active_s > 0 else 0.0
        self.result = {
            **total, "request_rate": request_rate, "rate": request_rate * self.events_per_request,
            "p50_us": statistics.median(r["p50_us"] for r in rounds), "p99_us": max(r["p99_us"] for r in rounds),
            "wrk_cpu_pct": statistics.mean(r["wrk_cpu_pct"] for r in rounds),
            "machine_busy_pct": statistics.mean(r["machine_busy_pct"] for r in rounds),
            "python_cpu_ms": statistics.mean(r["python_cpu_ms"] for r in rounds),
            "postgres_cpu_ms": statistics.mean(r["postgres_cpu_ms"] for r in rounds),
            "error_sample": next((r["error_sample"] for r in rounds if r["error_sample"]), ""),
            "round_rates": [r["rate"] for r in rounds],
        }

    @property
    def unit(self) -> str:
        return "events/s" if self.events_per_request > 1 else "requests/s"


# ---------------------------------------------------------------- setup


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=8.0, help="seconds of sending per scenario and round")
    parser.add_argument("--rounds", type=int, default=2,
                        help="interleaved rounds of all scenarios (the machine is shared: limits and ingest "
                             "runs alternate so both see the same conditions)")
    parser.add_argument("--drain", type=float, default=3.0, help="seconds wrk waits for the last answers")
    parser.add_argument("--workers", type=int, default=0, help="gunicorn workers (default: the config's)")
    parser.add_argument("--server-threads", type=int, default=0, help="threads per worker (default: the config's)")
    parser.add_argument("--connections", type=int, default=0,
                        help="wrk connections (default: workers x threads, enough to keep every thread busy)")
    parser.add_argument("--threads", type=int, default=1, help="wrk threads")
    parser.add_argument("--events", type=int, default=100, help="events per Segment batch")
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: first free of 18000-18099)")
    parser.add_argument("--no-reset", action="store_true", help="keep the bench database's rows from earlier runs")
    parser.add_argument("--pace", type=float, default=0.0,
                        help="heartbeats/s of the paced scenario instead of 70 %% of the measured saturation "
                             "(to compare server configurations at one load; its goal line is then n/a)")
    parser.add_argument("--only", default="", help="comma-separated scenario keys to run (default: all)")
    parser.add_argument("--json", default=str(RESULTS), metavar="PATH",
                        help="write the figures here for bench/capacity.py (default: %(default)s; '' for none)")
    parser.add_argument("--profile", default="", metavar="SCENARIO",
                        help="record a py-spy profile of every worker during this scenario (needs py-spy)")
    return parser.parse_args()


def configure_environment() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        sys.exit("bench/ingest.py measures PostgreSQL: set DATABASE_URL=postgres://user@127.0.0.1:5432/<db>")
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
    # Throwaway production secrets: the server is up for a minute, on loopback only.
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(48))
    os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1,localhost")
    os.environ.setdefault("TELEMETRY_SIGNING_KEY", base64.b64encode(secrets.token_bytes(32)).decode())
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    # One key from one address at thousands of requests a second: limits no real sender reaches, set
    # so high they never refuse, while the throttles still count every request (their cost is measured).
    os.environ.setdefault("TELEMETRY_INGEST_RATE_PER_KEY", "1000000000/min")
    os.environ.setdefault("TELEMETRY_INGEST_RATE_PER_ADDRESS", "1000000000/min")
    sys.path.insert(0, str(REPO))
    return url


def ensure_database(url: str) -> None:
    """Create the bench database when it does not exist yet, so one command is enough."""
    import psycopg
    from psycopg import conninfo, sql

    try:
        psycopg.connect(url, connect_timeout=5).close()
        return
    except psycopg.OperationalError as exc:
        if "does not exist" not in str(exc):
            raise
    name = str(conninfo.conninfo_to_dict(url)["dbname"])
    with psycopg.connect(conninfo.make_conninfo(url, dbname="postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    print(f"created database {name}", file=sys.stderr)


def prepare_database(scenarios: list[Scenario], run: str, reset: bool) -> None:
    import django
    from django.core.management import call_command
    from django.db import connection

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    if reset:
        name = connection.settings_dict["NAME"]
        if "bench" not in name:
            sys.exit(f"refusing to empty database {name!r}: its name does not contain 'bench' (use --no-reset)")
        call_command("flush", verbosity=0, interactive=False)
    from django.utils import timezone

    from apps.instances.models import Instance, InstanceStatus
    from apps.products.models import Product

    now = timezone.now()
    for scenario in scenarios:
        product = Product.objects.create(slug=f"{run}-{scenario.key}", name=f"Bench {scenario.label}")
        scenario.product_slug, scenario.product_id, scenario.ingest_key = product.slug, product.pk, product.ingest_key
        if scenario.mode != "heartbeat" or scenario.known:
            # Usage events and keep-alives come from instances the registry already knows, as in a real fleet.
            Instance.objects.bulk_create([
                Instance(product=product, instance_id=f"{scenario.fleet}-{n}", first_seen=now, last_seen=now,
                         status=InstanceStatus.ACTIVE, heartbeat_count=1) for n in range(FLEET_SIZE)])
    connection.close()


def free_port(wanted: int) -> int:
    for port in [wanted] if wanted else PORTS:
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    sys.exit("no free port in 18000-18099 on 127.0.0.1")


def server_config(args: argparse.Namespace) -> dict[str, int]:
    """Workers and threads per worker the server will run: the options, else docker/gunicorn.conf.py's own."""
    env = {"GUNICORN_WORKERS": str(args.workers) if args.workers else None,
           "GUNICORN_THREADS": str(args.server_threads) if args.server_threads else None}
    saved = {name: os.environ.get(name) for name in env}
    try:
        for name, value in env.items():
            if value is not None:
                os.environ[name] = value
        config = runpy.run_path(str(GUNICORN_CONF))
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
    return {"workers": int(config["workers"]), "threads": int(config.get("threads", 1))}


def start_server(port: int, config: dict[str, int], log_path: Path) -> subprocess.Popen:
    env = dict(os.environ, GUNICORN_BIND=f"127.0.0.1:{port}", GUNICORN_ACCESS_LOG="",
               GUNICORN_WORKERS=str(config["workers"]), GUNICORN_THREADS=str(config["threads"]))
    log = log_path.open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "telemetry_site.wsgi:application"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"gunicorn exited with {server.returncode}; see {log_path}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    stop_server(server)
    sys.exit(f"gunicorn did not answer /healthz within 60 s; see {log_path}")


def stop_server(server: subprocess.Popen) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def worker_pids(server: subprocess.Popen) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True).stdout
    return [int(pid) for pid in out.split()]


def process_cpu(pid: int) -> float | None:
    """User + system CPU seconds of one process, or None when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class CpuMeter:
    """CPU seconds spent by the server's gunicorn workers and by their PostgreSQL backends.

    Backends are found by the application_name bench/settings.py gives the server's connections.
    A worker (or backend) that exits during a run takes its last CPU seconds with it, so figures
    are a slight underestimate when gunicorn recycles a worker (max_requests) mid-run.
    """

    def __init__(self, server: subprocess.Popen) -> None:
        import psycopg

        self.server = server
        self.conn = psycopg.connect(os.environ["DATABASE_URL"], autocommit=True)

    def snapshot(self) -> dict[str, dict[int, float]]:
        backends = [pid for (pid,) in self.conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'bench-ingest-server'")]
        groups = {"python": worker_pids(self.server), "postgres": backends}
        return {name: {pid: cpu for pid in pids if (cpu := process_cpu(pid)) is not None}
                for name, pids in groups.items()}

    @staticmethod
    def used(before: dict[str, dict[int, float]], after: dict[str, dict[int, float]]) -> dict[str, float]:
        return {name: sum(cpu - before[name].get(pid, 0.0) for pid, cpu in after[name].items()) for name in after}


# ---------------------------------------------------------------- load


def cpu_times() -> tuple[int, int]:
    """(busy, total) jiffies of the whole machine, from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def run_wrk(args: argparse.Namespace, base_url: str, scenario: Scenario, run: str, duration: float,
            extra: dict[str, str] | None = None, meter: CpuMeter | None = None) -> dict:
    """One wrk run; `run` prefixes every instance and message id it sends, so it must be unique."""
    options = {"mode": scenario.mode, "path": scenario.path, "run": run, "fleet": scenario.fleet,
               "send_s": f"{duration:.3f}", "rate": f"{scenario.rate:.3f}", "events": str(args.events),
               "threads": str(args.threads), **(extra or {})}
    if scenario.mode == "heartbeat":
        options["key"] = scenario.ingest_key
        if scenario.known:
            options["known"] = "1"
    else:
        options["auth"] = "Basic " + base64.b64encode(f"{scenario.ingest_key}:".encode()).decode()
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{duration + args.drain:.0f}s",
               "--timeout", "10s", "-s", str(LUA), base_url + scenario.path, "--",
               *[f"{k}={v}" for k, v in options.items()]]
    server_before = meter.snapshot() if meter else None
    usage_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    busy_before, total_before = cpu_times()
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    busy_after, total_after = cpu_times()
    usage_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_cpu = meter.used(server_before, meter.snapshot()) if meter and server_before else {}
    line = next((ln for ln in completed.stdout.splitlines() if ln.startswith("BENCH_JSON ")), None)
    if line is None:
        sys.exit(f"wrk failed ({completed.returncode}):\n{completed.stdout}\n{completed.stderr}")
    result = orjson.loads(line.removeprefix("BENCH_JSON "))
    result["error_sample"] = next((ln.removeprefix("BENCH_ERROR ") for ln in completed.stdout.splitlines()
                                   if ln.startswith("BENCH_ERROR ")), "")
    wall = result["duration_us"] / 1e6
    wrk_cpu = (usage_after.ru_utime + usage_after.ru_stime) - (usage_before.ru_utime + usage_before.ru_stime)
    result["wrk_cpu_pct"] = 100 * wrk_cpu / wall if wall else 0.0
    result["machine_busy_pct"] = 100 * (busy_after - busy_before) / max(1, total_after - total_before)
    active_s = result["active_ms"] / 1000
    result["request_rate"] = result["ok"] / active_s if active_s > 0 else 0.0
    result["rate"] = result["request_rate"] * scenario.events_per_request
    answered = max(1, result["ok"] + result["bad"])
    result["python_cpu_ms"] = 1000 * server_cpu.get("python", 0.0) / answered
    result["postgres_cpu_ms"] = 1000 * server_cpu.get("postgres", 0.0) / answered
    result["errors"] = (result["bad"] + result["connect_errors"] + result["read_errors"]
                        + result["write_errors"] + result["timeouts"])
    return result


def segment_batch(run: str, fleet: str, tid: int, seq: int, events: int, ts: str) -> bytes:
    """The Segment batch bench/ingest.lua builds (batch_body), for the pre-compressed gzip run."""
    instance = f"{fleet}-{seq % FLEET_SIZE}"
    batch = [
        {"type": "track", "event": EVENT_NAMES[i % len(EVENT_NAMES)], "messageId": f"{run}-{tid}-{seq}-{i}",
         "anonymousId": f"anon-{seq % 1000}", "timestamp": ts,
         "properties": {"instanceId": instance, "source": "backend", "durationMs": (seq * 7 + i) % 500,
                        "route": f"/api/v1/actions/{i % 20}"}}
        for i in range(1, events + 1)
    ]
    return orjson.dumps({"batch": batch, "sentAt": ts, "context": {"library": {"name": "bench", "version": "1.0"}}})


def write_gzip_bodies(path: Path, run: str, fleet: str, count: int, threads: int, events: int) -> int:
    """`count` distinct gzipped batches; body k goes to thread (k % threads) + 1 as its sequence number."""
    ts = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    size = 0
    with path.open("wb") as out:
        for k in range(count):
            body = gzip.compress(segment_batch(run, fleet, k % threads + 1, k // threads + 1, events, ts),
                                 compresslevel=6)
            size += len(body)
            out.write(b"%d\n" % len(body))
            out.write(body)
    return size // max(1, count)


def profile_workers(server: subprocess.Popen, seconds: float, out_dir: Path, name: str) -> list[subprocess.Popen]:
    pyspy = Path(sys.executable).parent / "py-spy"
    if not pyspy.exists():
        sys.exit("--profile needs py-spy: .venv/bin/pip install py-spy")
    return [subprocess.Popen([str(pyspy), "record", "--pid", str(pid), "--duration", str(int(seconds)),
                              "--rate", "250", "--format", "raw", "--nonblocking", "--gil",
                              "--output", str(out_dir / f"{name}-{pid}.txt")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for pid in worker_pids(server)]


# ---------------------------------------------------------------- limit 2 and the check


def copy_limit(scenario: Scenario, events: int, message_prefix: str) -> dict:
    """Limit 2: psycopg COPY of the rows a batch round stored, into an identical table and indexes.

    Measured right after that round, while the server idles, so both see the same machine.
    """
    import psycopg

    with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
        columns = [row[0] for row in conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'events_event' "
            "AND column_name <> 'id' ORDER BY ordinal_position")]
        select = ", ".join(f"{c}::text" if c == "properties" else c for c in columns)
        rows = conn.execute(f"SELECT {select} FROM events_event WHERE product_id = %s AND starts_with(message_id, %s) "
                            f"ORDER BY id LIMIT 300000", [scenario.product_id, message_prefix]).fetchall()
        source = "the rows the batch run stored"
        if len(rows) < 1000:
            rows = synthetic_rows(columns, scenario.product_id, events)
            source = "synthesised rows shaped like the batch (the batch run stored too few)"
        conn.execute("DROP TABLE IF EXISTS bench_copy_event")
        conn.execute("CREATE TABLE bench_copy_event (LIKE events_event INCLUDING ALL)")
        copy_sql = f"COPY bench_copy_event ({', '.join(columns)}) FROM STDIN"
        try:
            with conn.cursor() as cur:
                started = time.perf_counter()
                for start in range(0, len(rows), 100):
                    with conn.transaction(), cur.copy(copy_sql) as copy:
                        for row in rows[start:start + 100]:
                            copy.write_row(row)
                seconds_100 = time.perf_counter() - started
                conn.execute("TRUNCATE bench_copy_event")
                started = time.perf_counter()
                with conn.transaction(), cur.copy(copy_sql) as copy:
                    for row in rows:
                        copy.write_row(row)
                seconds_all = time.perf_counter() - started
        finally:
            conn.execute("DROP TABLE IF EXISTS bench_copy_event")
        counted = conn.execute("SELECT count(*) FROM pg_indexes WHERE tablename = 'events_event'").fetchone()
        indexes = counted[0] if counted else 0
    return {"rows": len(rows), "seconds_100": seconds_100, "seconds_all": seconds_all, "source": source,
            "indexes": indexes}


def copy_total(rounds: list[dict]) -> dict | None:
    if not rounds:
        return None
    rows = sum(r["rows"] for r in rounds)
    return {**rounds[0], "rows": rows, "copy100": rows / sum(r["seconds_100"] for r in rounds),
            "copy_all": rows / sum(r["seconds_all"] for r in rounds),
            "round_rates": [r["rows"] / r["seconds_100"] for r in rounds]}


def synthetic_rows(columns: list[str], product_id: int, events: int) -> list[tuple]:
    now = datetime.now(UTC)
    rows = []
    for seq in range(1, 501):
        batch = orjson.loads(segment_batch("synthetic", "synthetic", 1, seq, events,
                                           now.strftime("%Y-%m-%dT%H:%M:%SZ")))
        for item in batch["batch"]:
            values = {"product_id": product_id, "instance_id": None, "kind": "event", "name": item["event"],
                      "message_id": item["messageId"], "timestamp": now, "received_at": now,
                      "properties": orjson.dumps(item["properties"]).decode()}
            rows.append(tuple(values.get(c) for c in columns))
    return rows


def check_exactly_once(scenario: Scenario) -> str:
    """Acknowledged events == stored rows, each message id once (wrk leaves nothing in flight)."""
    import psycopg

    result = scenario.result
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        events_row = conn.execute(
            "SELECT count(*), count(DISTINCT message_id) FROM events_event WHERE product_id = %s",
            [scenario.product_id]).fetchone()
        instances_row = conn.execute("SELECT count(*) FROM instances_instance WHERE product_id = %s",
                                     [scenario.product_id]).fetchone()
    assert events_row is not None and instances_row is not None  # count(*) always answers one row
    stored, distinct = events_row
    instances = instances_row[0]
    acked = result["ok"] * scenario.events_per_request
    sent = result["sent"] * scenario.events_per_request
    doubles = stored - distinct
    problems = []
    if doubles:
        problems.append(f"{doubles} stored twice")
    if result["sent"] == result["ok"] and stored != acked:
        problems.append(f"{acked - stored} lost" if stored < acked else f"{stored - acked} stored unacknowledged")
    elif stored < acked:
        problems.append(f"{acked - stored} lost")
    elif stored > sent:
        problems.append(f"{stored - sent} more than sent")
    if scenario.mode == "heartbeat" and result["ok"]:
        expected = FLEET_SIZE if scenario.known else result["ok"]
        if instances != expected:
            problems.append(f"{instances} instances for {result['ok']} heartbeats (expected {expected})")
    summary = f"sent {sent}, acknowledged {acked}, stored {stored} ({distinct} distinct)"
    if scenario.mode == "heartbeat":
        summary += f", instances {instances}"
    return ("OK " if not problems else "FAIL ") + summary + ("" if not problems else ": " + "; ".join(problems))


# ---------------------------------------------------------------- report


def ms(us: float) -> str:
    return f"{us / 1000:.1f}"


def print_table(scenarios: dict[str, Scenario], copy: dict | None) -> None:
    columns = (f"{'rate':>10} {'unit':<10} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6} {'cpu ms/req py+pg':>16}"
               f" {'wrk cpu':>8} {'busy':>5}")
    header = f"{'scenario':<52} {columns}   rate per round"
    print(header)
    print("-" * len(header))
    for scenario in scenarios.values():
        r = scenario.result
        if r:
            rounds = " / ".join(f"{rate:,.0f}" for rate in r["round_rates"])
            print(f"{scenario.label:<52} {r['rate']:>10,.0f} {scenario.unit:<10} {ms(r['p50_us']):>7} "
                  f"{ms(r['p99_us']):>7} {r['errors']:>6} {r['python_cpu_ms']:>8.2f}+{r['postgres_cpu_ms']:<7.2f}"
                  f" {r['wrk_cpu_pct']:>7.0f}% {r['machine_busy_pct']:>4.0f}%"
                  f"   {rounds}")
    if copy:
        rounds = " / ".join(f"{rate:,.0f}" for rate in copy["round_rates"])
        print(f"{'limit 2: COPY, 100 rows per transaction':<52} {copy['copy100']:>10,.0f} {'rows/s':<10}"
              f"{'':>58}{rounds}")
        print(f"{'limit 2 reference: one COPY of all rows':<52} {copy['copy_all']:>10,.0f} rows/s")


def goal_lines(scenarios: dict[str, Scenario], copy: dict | None) -> list[tuple[str, str, str, bool | None]]:
    """(what, measured, goal, met) for every goal this run can judge."""
    lines: list[tuple[str, str, str, bool | None]] = []
    limit1 = scenarios.get("limit1")
    bases = {"limit 1": limit1.result.get("rate") if limit1 else None, "limit 2": copy and copy["copy100"]}
    for key, base in (("heartbeat", "limit 1"), ("heartbeat_known", "limit 1"), ("batch", "limit 2"),
                      ("gzip", "limit 2")):
        scenario = scenarios.get(key)
        if scenario is None:
            continue
        what = f"{scenario.label.split(',')[0].split(' (')[0]} {scenario.unit} / {base}"
        if bases[base]:
            value = scenario.result["rate"] / bases[base]
            lines.append((what, f"{value:.2f}", f">= {GOAL_RATIO}", value >= GOAL_RATIO))
        else:
            lines.append((what, "n/a", f">= {GOAL_RATIO}", None))
    paced = scenarios.get("heartbeat70")
    if paced and paced.result and paced.rounds:
        p99 = paced.result["p99_us"] / 1000
        if "(--pace)" in paced.label:  # a fixed load, not 70 % of this run's saturation: no verdict
            lines.append((f"heartbeat p99 at {paced.result['rate']:,.0f}/s (--pace), ms", f"{p99:.1f}",
                          f"<= {GOAL_P99_MS:.0f}", None))
        else:
            lines.append((f"heartbeat p99 at {paced.result['rate']:,.0f}/s (~70 % of saturation), ms", f"{p99:.1f}",
                          f"<= {GOAL_P99_MS:.0f}", p99 <= GOAL_P99_MS))
    for scenario in scenarios.values():
        if scenario.key != "limit1" and scenario.rounds:
            errors = scenario.result["errors"]
            lines.append((f"errors, {scenario.key}", str(errors), "0", errors == 0))
    return lines


def print_report(scenarios: dict[str, Scenario], copy: dict | None, info: dict[str, str]) -> bool:
    """Print the table; True when nothing was lost, doubled or refused (goals are reported, not enforced)."""
    print()
    print("Ingest benchmark: " + ", ".join(f"{k} {v}" for k, v in info.items()))
    print()
    print_table(scenarios, copy)
    print()
    print("Goals (issue 7):")
    ok = all(not s.result.get("errors") for s in scenarios.values())
    for what, value, goal, met in goal_lines(scenarios, copy):
        verdict = "n/a" if met is None else ("met" if met else "NOT MET")
        print(f"  {what:<66} {value:>8}   goal {goal:<6} {verdict}")
    print()
    print("Exactly once (rows of the scenario's product vs 2xx answers x events per request):")
    for scenario in scenarios.values():
        if scenario.check:
            ok = ok and scenario.check.startswith("OK")
            print(f"  {scenario.key:<12} {scenario.check}")
        if scenario.result.get("error_sample"):
            print(f"  {scenario.key:<12} first error: {scenario.result['error_sample'][:160]}")
        if scenario.result.get("exhausted"):
            print(f"  {scenario.key:<12} ran out of pre-built bodies before the end of the window")
    print()
    if copy:
        print(f"Limit 2 copied {copy['rows']:,} rows ({copy['source']}) into a table LIKE events_event "
              f"INCLUDING ALL ({copy['indexes']} indexes incl. the primary key; no foreign keys).")
    print("References (issue 7): " + "; ".join(f"{k} {v}" for k, v in REFERENCE.items()) + ".")
    print("p50: median round; p99: worst round. cpu ms/req: CPU time per answered request of the gunicorn "
          "workers (py) and their PostgreSQL backends (pg).")
    print("wrk cpu: the load generator's share of one core; busy: the whole machine's CPU during the run "
          "(the machine may be shared).")
    return ok


def write_json(path: Path, scenarios: dict[str, Scenario], copy: dict | None, info: dict[str, str],
               config: dict[str, int], passed: bool) -> None:
    """The run's figures, one object per scenario, for bench/capacity.py and for comparing runs."""
    figures = {
        key: {"label": s.label, "rate": round(s.result["rate"], 1), "unit": s.unit,
              "requests_per_s": round(s.result["request_rate"], 1), "p50_ms": round(s.result["p50_us"] / 1000, 2),
              "p99_ms": round(s.result["p99_us"] / 1000, 2), "errors": s.result["errors"],
              "cpu_ms_per_request": {"python": round(s.result["python_cpu_ms"], 3),
                                     "postgres": round(s.result["postgres_cpu_ms"], 3)},
              "machine_busy_pct": round(s.result["machine_busy_pct"], 1),
              "round_rates": [round(rate, 1) for rate in s.result["round_rates"]]}
        for key, s in scenarios.items() if s.result}
    document = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"), "commit": info.get("commit", ""),
        "machine": {"cpus": os.cpu_count(), "load_avg_at_start": info.get("load avg", "")},
        "server": {"workers": config["workers"], "threads": config["threads"]}, "wrk": info.get("wrk", ""),
        "rounds": info.get("rounds", ""), "exactly_once": passed, "scenarios": figures,
        "copy": {"rows_per_s_100": round(copy["copy100"], 1), "rows_per_s_one": round(copy["copy_all"], 1)}
        if copy else None,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    print(f"figures written to {path}")


# ---------------------------------------------------------------- main


def build_scenarios(args: argparse.Namespace) -> list[Scenario]:
    return [
        Scenario("limit1", "limit 1: smallest Django JSON view", "/bench/noop", "heartbeat", 1),
        Scenario("heartbeat", "heartbeats, native /api/v1/ingest", "/api/v1/ingest", "heartbeat", 1),
        Scenario("heartbeat70", "heartbeats at ~70 % of saturation (paced)", "/api/v1/ingest", "heartbeat", 1),
        Scenario("heartbeat_known", f"keep-alives from {FLEET_SIZE} known instances", "/api/v1/ingest",
                 "heartbeat", 1, known=True),
        Scenario("batch", f"Segment /v1/batch, {args.events} events/request", "/v1/batch", "batch", args.events),
        Scenario("gzip", f"Segment /v1/batch gzip, {args.events} events/request", "/v1/batch", "bodies",
                 args.events),
    ]


def main() -> int:
    args = parse_args()
    ensure_database(configure_environment())
    run = "b" + datetime.now(UTC).strftime("%H%M%S") + secrets.token_hex(2)
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    scenarios = {s.key: s for s in build_scenarios(args) if not only or s.key in only}
    if "heartbeat70" in scenarios and "heartbeat" not in scenarios and not args.pace:
        sys.exit("heartbeat70 is paced from the heartbeat run: include both")
    warm = Scenario("warm", "warm-up", "/api/v1/ingest", "heartbeat", 1)
    prepare_database([*scenarios.values(), warm], run, reset=not args.no_reset)

    config = server_config(args)
    workers = config["workers"]
    args.connections = args.connections or workers * config["threads"]
    out_dir = REPO / "var" / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    port = free_port(args.port)
    base_url = f"http://127.0.0.1:{port}"
    info = {"workers": f"{workers} x {config['threads']} threads",
            "wrk": f"{args.threads} thread(s), {args.connections} connections",
            "rounds": f"{args.rounds} x {args.duration:.0f} s", "load avg": f"{os.getloadavg()[0]:.1f}",
            "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True,
                                     text=True).stdout.strip()}
    server = start_server(port, config, out_dir / "gunicorn.log")
    meter = CpuMeter(server)
    try:
        # Warm every worker up (imports, database connections) on a product no check counts.
        for path, mode in (("/bench/noop", "heartbeat"), ("/api/v1/ingest", "heartbeat"), ("/v1/batch", "batch")):
            warm.path, warm.mode = path, mode
            run_wrk(args, base_url, warm, f"{run}-warm-{mode}-{path.count('/')}", 2.0)
        for round_no in range(1, args.rounds + 1):
            for scenario in scenarios.values():
                run_scenario(args, base_url, server, meter, scenarios, scenario, run, round_no, out_dir)
    finally:
        meter.conn.close()
        stop_server(server)
    for scenario in scenarios.values():
        scenario.aggregate()

    copy = copy_total(scenarios["batch"].copies) if "batch" in scenarios else None
    for scenario in scenarios.values():
        if scenario.key != "limit1" and scenario.result:
            scenario.check = check_exactly_once(scenario)
    passed = print_report(scenarios, copy, info)  # exit status 1: something lost, doubled or refused
    if args.json:
        write_json(Path(args.json), scenarios, copy, info, config, passed)
    if args.profile:
        print(f"py-spy profiles (raw, one per worker): {out_dir}/profile-{args.profile}-*.txt")
    return 0 if passed else 1


def run_scenario(args: argparse.Namespace, base_url: str, server: subprocess.Popen, meter: CpuMeter,
                 scenarios: dict[str, Scenario], scenario: Scenario, run: str, round_no: int, out_dir: Path) -> None:
    scenario.rate = 0.0
    if scenario.key == "heartbeat70" and args.pace:
        scenario.rate = args.pace / args.threads
        scenario.label = f"heartbeats paced at {args.pace:,.0f}/s (--pace)"
    elif scenario.key == "heartbeat70":
        # Paced at 70 % of the saturation rate measured just before, under the same conditions.
        saturation = scenarios["heartbeat"].rounds[-1]["request_rate"]
        if not saturation:
            return
        scenario.rate = 0.7 * saturation / args.threads
    extra = {}
    if scenario.mode == "bodies":
        extra = {"file": str(gzip_file(args, scenarios, run, scenario, out_dir)), "offset": str(scenario.bodies_used)}
    spies = []
    if args.profile == scenario.key:
        spies = profile_workers(server, args.duration, out_dir, f"profile-{scenario.key}-r{round_no}")
    print(f"round {round_no}: {scenario.key} ...", file=sys.stderr, flush=True)
    result = run_wrk(args, base_url, scenario, f"{run}-{scenario.key}-r{round_no}", args.duration, extra, meter)
    scenario.rounds.append(result)
    scenario.bodies_used += result["sent"]
    for spy in spies:
        spy.wait()
    if scenario.key == "batch":
        print(f"round {round_no}: limit 2 (COPY) ...", file=sys.stderr, flush=True)
        scenario.copies.append(copy_limit(scenario, args.events, f"{run}-batch-r{round_no}-"))


def gzip_file(args: argparse.Namespace, scenarios: dict[str, Scenario], run: str, scenario: Scenario,
              out_dir: Path) -> Path:
    """Distinct gzipped bodies for every round, built once: 3 x what the first uncompressed round sent, capped.

    Generous because the machine is shared: a slow first batch round must not leave a faster gzip
    round without bodies (its idle connections would then be closed by the server's keep-alive
    timeout, which wrk counts as errors)."""
    path = out_dir / f"gzip-bodies-{run}.bin"
    if path.exists():
        return path
    batch = scenarios.get("batch")
    per_second = (batch.rounds[0]["sent"] / args.duration) if batch and batch.rounds else 200.0
    count = min(30_000, math.ceil(per_second * args.duration * 3 * args.rounds) + 50 * args.threads)
    print(f"building {count} gzipped batches ...", file=sys.stderr, flush=True)
    average = write_gzip_bodies(path, f"{run}-{scenario.key}", scenario.fleet, count, args.threads, args.events)
    scenario.label += f" ({average / 1024:.1f} KiB)"
    return path


if __name__ == "__main__":
    sys.exit(main())
