"""CPU per heartbeat, in one process: Python (this process) and PostgreSQL (its backend), no HTTP server.

Posts N native heartbeats through Django's test client (the production settings: no DEBUG, the
ingest middleware) against the database in DATABASE_URL, which must be PostgreSQL on this machine
(the backend's CPU is read from /proc). CPU time, not wall time: the machine may be busy.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/<db> .venv/bin/python bench/heartbeat_cpu.py [--count N]
        [--known] [--below-view] [--profile] [--statements]

--known: keep-alives from 100 instances created beforehand (else a new instance per heartbeat);
--below-view: no test client, request or view: each heartbeat is parsed, prepared and stored by the
    functions the view calls (protocols.parse, pipeline.prepare, group_commit.store), so the figure
    is the ingest path's own work;
--statements: also count statements per heartbeat (a second pass, with an execute wrapper);
--profile: print the cProfile of the measured pass (top functions by own time);
--profile-out PATH: also save it there, for pstats.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import secrets
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "telemetry_site.settings.production")
os.environ.setdefault("SECRET_KEY", "heartbeat-cpu-" + "x" * 40)
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("TELEMETRY_SIGNING_KEY", "A" * 43 + "=")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
# One thread writes (no group commit), so its one backend is the one that does the work.
os.environ.setdefault("TELEMETRY_INGEST_GROUP_COMMIT", "false")

FLEET = 100


def backend_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def body(run: str, n: int, known: bool) -> bytes:
    instance = f"{run}-fleet-{n % FLEET}" if known else f"{run}-{n}"
    now = datetime.now(UTC).isoformat()
    return (f'{{"type":"heartbeat","instance_id":"{instance}","message_id":"hb-{run}-{n}","event":"bench.ping",'
            f'"timestamp":"{now}","version":"1.{n % 10}.0","edition":"ce","os":"linux","arch":"x86_64",'
            f'"metrics":{{"users":{n % 97},"apps":{n % 13}}}}}').encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=2000)
    parser.add_argument("--known", action="store_true")
    parser.add_argument("--below-view", action="store_true")
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--statements", action="store_true")
    parser.add_argument("--profile-out", help="with --profile: also save the raw profile there (pstats format)")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    from apps.ingest import group_commit, pipeline, protocols
    from apps.ingest.product_cache import product_for_key
    from apps.instances.models import Instance, InstanceStatus
    from apps.products.models import Product

    call_command("migrate", verbosity=0)
    product, _ = Product.objects.get_or_create(slug="cpu-bench", defaults={"name": "CPU bench",
                                                                           "ingest_key": "cpu-bench-key"})
    # One sender address posts every heartbeat: limits it never reaches, while the throttles still run.
    Product.objects.filter(pk=product.pk).update(ingest_rate_per_key=10**9, ingest_rate_per_address=10**9)
    run = secrets.token_hex(4)
    now = timezone.now()
    Instance.objects.bulk_create([
        Instance(product=product, instance_id=f"{run}-fleet-{n}", first_seen=now, last_seen=now,
                 status=InstanceStatus.ACTIVE, heartbeat_count=1) for n in range(FLEET)])
    client = Client()
    info = product_for_key(product.ingest_key)
    assert info is not None

    def store(n: int) -> None:
        received = timezone.now()
        parsed = protocols.parse("native", orjson.loads(body(run, n, args.known)), rules=info.rules)
        prepared = pipeline.prepare(parsed, received_at=received, request_ip="198.51.100.7")
        stored = group_commit.store(group_commit.Write(product_id=info.pk, product_stamp=info.stamp,
                                                       envelopes=prepared.envelopes, now=received))
        assert stored.accepted == 1, stored

    def post(n: int) -> None:
        if args.below_view:
            store(n)
            return
        response = client.generic("POST", "/api/v1/ingest", body(run, n, args.known),
                                  content_type="application/json", HTTP_X_TELEMETRY_KEY=product.ingest_key,
                                  REMOTE_ADDR="198.51.100.7")
        assert response.status_code == 200, response.content

    for n in range(200):  # warm up: caches, the connection, psycopg's prepared statements
        post(n)
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    start = 10_000
    profiler = cProfile.Profile(time.process_time) if args.profile else None
    cpu, db = time.process_time(), backend_cpu(pid)
    if profiler:
        profiler.enable()
    for n in range(start, start + args.count):
        post(n)
    if profiler:
        profiler.disable()
    cpu, db = time.process_time() - cpu, backend_cpu(pid) - db
    kind = ("keep-alive" if args.known else "new instance") + (" (below the view)" if args.below_view else "")
    print(f"{kind} heartbeats: {args.count}; "
          f"Python {cpu / args.count * 1000:.3f} ms, PostgreSQL {db / args.count * 1000:.3f} ms per heartbeat")
    if args.statements:
        seen: list[str] = []

        def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
            seen.append(sql)
            return execute(sql, params, many, context)

        with connection.execute_wrapper(count):
            for n in range(50_000, 50_100):
                post(n)
        print(f"statements per heartbeat: {len(seen) / 100:.2f}")
    if profiler:
        stats = pstats.Stats(profiler)
        if args.profile_out:
            stats.dump_stats(args.profile_out)
        stats.sort_stats("tottime").print_stats(30)
        stats.sort_stats("cumulative").print_stats("apps/|django/(db|test|core/handlers)", 45)


if __name__ == "__main__":
    main()
