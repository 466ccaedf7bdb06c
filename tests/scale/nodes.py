"""`make test-nodes`: two web nodes and two Celery workers on one PostgreSQL agree with each other.

Starts a private PostgreSQL cluster and Redis on loopback (tests/faults/services.py), two gunicorn
nodes with production settings (group commit on) on two ports, and two Celery workers, then:
1. sends the same heartbeats, events and Segment batches to both nodes at once, each body to both
   at the same moment from several thread pairs, so the same message ids race each other across
   nodes and inside each node's commit groups: every id must be stored exactly once, the accepted counts of both
   nodes must add up to the distinct ids and the duplicates to the rest, and each instance's
   heartbeat count must equal its stored heartbeats;
2. asks both nodes about the same instance: the two-way answers must be equal; a product change
   made through node A (staff API), then one through node B, and a notice written by a third
   process, must each be in the very next answer of every node (the product's change stamp);
3. sends the same rollup backfill twice at once to the two workers (fanned out in chunks): every
   task id is run once, both workers take part, and the rollups equal one rebuild of the same days.
Exit 1 on any difference. About two to three minutes.

Environment: NODES_PORT_BASE (default 57140: PostgreSQL, +1 Redis, +2 and +3 the web nodes),
NODES_KEEP=1 keeps the temporary directory (logs).
"""

import contextlib
import http.client
import os
import re
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import orjson
import psycopg

from tests.faults.run import healthy, log, rollup_rows, settings_env
from tests.faults.services import Managed, Postgres, Redis, celery_worker, gunicorn, manage, remove, wait_for

PORT_BASE = int(os.environ.get("NODES_PORT_BASE", "57140"))
SLUG = "nodes"
INSTANCES = 40
RECORDS = 1200  # native records, each sent to both nodes
BATCHES = 40  # Segment batches of BATCH_EVENTS events, each sent to both nodes
BATCH_EVENTS = 10
THREADS_PER_NODE = 4
BACKFILL_DAYS = 186  # six chunks of the rollup task's 31 days
TWO_WAY = ("collect", "latest_version", "outdated", "notices", "next_ping_in")


@dataclass
class Node:
    name: str
    port: int
    process: Managed
    accepted: int = 0
    duplicates: int = 0
    retries: int = 0
    failures: list[str] = field(default_factory=list)


def node_env(base: dict[str, str], workdir: Path, name: str, port: int) -> dict[str, str]:
    return {**base, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_ACCESS_LOG": str(workdir / f"access-{name}.log"),
            "GUNICORN_CMD_ARGS": f"--control-socket {workdir / f'gunicorn-{name}.ctl'}"}


def request(port: int, method: str, path: str, body: bytes | None, headers: dict[str, str],
            connection: http.client.HTTPConnection | None = None) -> tuple[int, Any]:
    own = connection is None
    connection = connection or http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        connection.request(method, path, body=body, headers={"Content-Type": "application/json",
                                                             "X-Forwarded-Proto": "https", **headers})
        response = connection.getresponse()
        content = response.read()
    finally:
        if own:
            connection.close()
    return response.status, orjson.loads(content) if content else None


def send_all(node: Node, key: str, bodies: list[tuple[str, bytes]], lock: threading.Lock,
             together: threading.Barrier) -> None:
    """Send each body until a 2xx (a 503 or a dropped connection is retried, as an SDK does).

    `together` holds this thread and its twin on the other node in step: each body leaves for both
    nodes at the same moment, so the same message id really races itself across the nodes.
    """
    connection: http.client.HTTPConnection | None = None
    for path, body in bodies:
        # Broken when the twin gave up on a body: go on alone, its failure is reported.
        with contextlib.suppress(threading.BrokenBarrierError):
            together.wait(timeout=120)
        for attempt in range(8):
            connection = connection or http.client.HTTPConnection("127.0.0.1", node.port, timeout=60)
            try:
                status, answer = request(node.port, "POST", path, body, {"X-Telemetry-Key": key}, connection)
            except (OSError, http.client.HTTPException):
                connection.close()
                connection, status, answer = None, 0, None
            if 200 <= status < 300:
                # Segment's contract answers {"success": true} alone: its batches are counted in the database.
                if path == "/api/v1/ingest":
                    with lock:
                        node.accepted += answer["accepted"]
                        node.duplicates += answer["duplicates"]
                with lock:
                    node.retries += attempt
                break
            if status not in (0, 503):
                node.failures.append(f"{node.name} {path}: {status} {str(answer)[:200]}")
                together.abort()
                break
            time.sleep(0.2 * (attempt + 1))
        else:
            node.failures.append(f"{node.name} {path}: no 2xx after 8 attempts")
            together.abort()
    if connection:
        connection.close()


def workload(today: datetime) -> tuple[list[tuple[str, bytes]], set[str], int]:
    """Native heartbeats and past-dated events (RECORDS of them), and Segment batches; all message ids distinct."""
    bodies: list[tuple[str, bytes]] = []
    ids: set[str] = set()
    heartbeats = 0
    for n in range(RECORDS):
        message_id, instance = uuid.uuid4().hex, f"node-{n % INSTANCES}"
        ids.add(message_id)
        if n % 3:
            heartbeats += 1
            record = {"type": "heartbeat", "instance_id": instance, "message_id": message_id,
                      "version": ["1.0.0", "1.1.0", "2.0.0"][n % 3], "os": "linux",
                      "timestamp": datetime.now(UTC).isoformat()}
        else:
            when = today - timedelta(days=1 + n % (BACKFILL_DAYS - 1), seconds=n * 97 % 86400)
            record = {"type": "event", "event": ["page", "deploy", "query"][n % 3], "instance_id": instance,
                      "message_id": message_id, "timestamp": when.isoformat()}
        bodies.append(("/api/v1/ingest", orjson.dumps(record)))
        if n % (RECORDS // BATCHES) == 0:
            batch = []
            for i in range(BATCH_EVENTS):
                message_id = uuid.uuid4().hex
                ids.add(message_id)
                batch.append({"type": "track", "event": "QUERY_EXECUTED", "messageId": message_id,
                              "anonymousId": f"anon-{i}", "timestamp": datetime.now(UTC).isoformat(),
                              "properties": {"instanceId": f"node-{(n + i) % INSTANCES}"}})
            bodies.append(("/v1/batch", orjson.dumps({"batch": batch, "sentAt": datetime.now(UTC).isoformat()})))
    return bodies, ids, heartbeats


def race(nodes: list[Node], key: str, pg: Postgres, failures: list[str]) -> None:
    today = datetime.combine(datetime.now(UTC).date(), datetime.min.time(), tzinfo=UTC)
    bodies, ids, heartbeats = workload(today)
    slices = [bodies[i::THREADS_PER_NODE] for i in range(THREADS_PER_NODE)]
    lock = threading.Lock()
    pairs = [(part, threading.Barrier(len(nodes))) for part in slices]
    threads = [threading.Thread(target=send_all, args=(node, key, part, lock, together))
               for part, together in pairs for node in nodes]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    log(f"{len(bodies)} requests ({len(ids)} message ids) sent to both nodes at once in "
        f"{time.monotonic() - started:.1f} s")
    with psycopg.connect(pg.url.replace("postgres://", "postgresql://"), autocommit=True) as db:
        rows = db.execute("SELECT e.message_id, count(*) FROM events_event e JOIN products_product p "
                          "ON p.id = e.product_id WHERE p.slug = %s GROUP BY e.message_id", [SLUG]).fetchall()
        totals = db.execute(
            "SELECT (SELECT coalesce(sum(heartbeat_count), 0) FROM instances_instance), "
            "(SELECT count(*) FROM events_event WHERE kind = 'heartbeat')").fetchone()
    assert totals is not None
    counted, stored_heartbeats = totals
    stored = {message_id for message_id, _ in rows}
    doubled = sum(n - 1 for _, n in rows if n > 1)
    accepted = sum(node.accepted for node in nodes)
    duplicates = sum(node.duplicates for node in nodes)
    for node in nodes:
        failures.extend(node.failures)
        print(f"  {node.name}: accepted {node.accepted}, duplicates {node.duplicates}, retried {node.retries}")
    print(f"  message ids {len(ids)}, stored {len(stored)}, stored twice {doubled}; native records {RECORDS}: "
          f"accepted (A+B) {accepted}, duplicates (A+B) {duplicates}")
    print(f"  heartbeats sent {heartbeats}, stored {stored_heartbeats}, counted on instances {counted}")
    if stored != ids:
        failures.append(f"dedupe: {len(ids - stored)} message id(s) not stored, {len(stored - ids)} unknown stored")
    if doubled:
        failures.append(f"dedupe: {doubled} message id(s) stored more than once")
    if accepted != RECORDS or duplicates != RECORDS:
        failures.append(f"counts: accepted {accepted} and duplicates {duplicates} over both nodes, "
                        f"expected {RECORDS} each (every native record sent twice)")
    if not stored_heartbeats == counted == heartbeats:
        failures.append(f"heartbeat counts: sent {heartbeats}, stored {stored_heartbeats}, counted {counted}")
    if not all(node.accepted for node in nodes):
        failures.append("one node stored nothing: the ids did not race")


def heartbeat_answer(node: Node, key: str, instance: str) -> dict[str, Any]:
    body = orjson.dumps({"type": "heartbeat", "instance_id": instance, "message_id": uuid.uuid4().hex,
                         "version": "1.1.0"})
    status, answer = request(node.port, "POST", "/api/v1/ingest", body, {"X-Telemetry-Key": key})
    if status != 200:
        raise RuntimeError(f"heartbeat to {node.name}: {status} {answer}")
    return {name: answer.get(name) for name in TWO_WAY}


def answers_agree(nodes: list[Node], key: str, token: str, env: dict[str, str], failures: list[str]) -> None:
    def both(what: str, expect: dict[str, Any]) -> None:
        answers = [heartbeat_answer(node, key, "node-1") for node in nodes]
        wrong = {name: value for name, value in expect.items() if answers[0].get(name) != value}
        if answers[0] != answers[1] or wrong:
            failures.append(f"answers after {what}: A {answers[0]}, B {answers[1]}, expected {expect}")
        else:
            log(f"both nodes answer the same after {what}: {expect}")

    both("the race", {})
    for via, version, interval in ((nodes[0], "3.0.0", 7200), (nodes[1], "3.1.0", 5400)):
        status, answer = request(via.port, "PATCH", f"/api/v1/products/{SLUG}/",
                                 orjson.dumps({"latest_version": version, "heartbeat_interval": interval}),
                                 {"Authorization": f"Token {token}"})
        if status != 200:
            failures.append(f"staff change through {via.name}: {status} {answer}")
            return
        both(f"a product change through {via.name}", {"latest_version": version, "outdated": True,
                                                      "next_ping_in": interval})
    manage(env, "shell", "-c", "from apps.products.models import Notice, Product; Notice.objects.create("
                               f"product=Product.objects.get(slug='{SLUG}'), level='security', title='Patch now', "
                               "max_version='2.0.0')")
    answer = heartbeat_answer(nodes[0], key, "node-1")
    if [notice.get("title") for notice in answer["notices"]] != ["Patch now"]:
        failures.append(f"a notice written elsewhere is not in node A's next answer: {answer['notices']}")
    both("a notice written by a third process", {"notices": answer["notices"]})


TASK_LINE = re.compile(r"Task (apps\.rollups\.tasks\.build_rollups)\[([0-9a-f-]+)\] (received|succeeded)")


def jobs_agree(pg: Postgres, env: dict[str, str], workdir: Path, failures: list[str]) -> None:
    today = datetime.now(UTC).date()
    first, last = (today - timedelta(days=BACKFILL_DAYS)).isoformat(), (today - timedelta(days=1)).isoformat()
    # The same backfill twice at once: each fans out into chunks the two workers share.
    manage(env, "shell", "-c", "from apps.rollups.tasks import build_rollups; "
                               f"[build_rollups.delay('{first}', '{last}') for _ in range(2)]")
    log(f"two backfills of {BACKFILL_DAYS} days sent")
    try:
        wait_for(lambda: len(done(workdir)[1]) >= 2 + 2 * -(-BACKFILL_DAYS // 31), seconds=120,
                 what="both backfills' tasks have run")
    except TimeoutError as exc:
        failures.append(f"jobs: {exc}")
        return
    received, succeeded, per_worker = done(workdir)
    twice = [task for task, n in Counter(received).items() if n > 1]
    print(f"  build_rollups tasks: {len(succeeded)} run, per worker {per_worker}, received twice {len(twice)}")
    if twice or len(set(succeeded)) != len(succeeded):
        failures.append(f"jobs: task(s) run twice: {twice[:3]}")
    if min(per_worker.values(), default=0) == 0 or len(per_worker) != 2:
        failures.append(f"jobs: not both workers took part: {per_worker}")
    built, before = rollup_rows(pg, first, last)
    manage(env, "build_rollups", "--from", first, "--to", last, "-v", "0")
    if built != BACKFILL_DAYS or rollup_rows(pg, first, last)[1] != before:
        failures.append(f"jobs: {built} of {BACKFILL_DAYS} days built, or the rollups differ from one rebuild")
    else:
        log(f"rollups built by two workers equal one rebuild ({len(before)} rollup and breakdown rows)")


def done(workdir: Path) -> tuple[list[str], list[str], dict[str, int]]:
    received: list[str] = []
    succeeded: list[str] = []
    per_worker: dict[str, int] = {}
    for name in ("worker-1", "worker-2"):
        for _, task, what in TASK_LINE.findall((workdir / f"{name}.log").read_text(errors="replace")):
            (received if what == "received" else succeeded).append(task)
            if what == "succeeded":
                per_worker[name] = per_worker.get(name, 0) + 1
    return received, succeeded, per_worker


def ready(worker_log: Path) -> bool:
    return b"ready." in worker_log.read_bytes()


def main() -> int:
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="telemetry-nodes-"))
    os.chmod(workdir, 0o755)
    pg, redis = Postgres(workdir, PORT_BASE), Redis(workdir, PORT_BASE + 1)
    # The fault run's settings, with the timeouts of a machine that is busy but not failing.
    env = {**settings_env(workdir, pg, redis), "DATABASE_STATEMENT_TIMEOUT": "20",
           "JOB_DATABASE_STATEMENT_TIMEOUT": "60", "CELERY_VISIBILITY_TIMEOUT": "120",
           "CELERY_TASK_TIME_LIMIT": "100", "GUNICORN_WORKERS": "2", "GUNICORN_THREADS": "8"}
    nodes = [Node(name, PORT_BASE + offset, gunicorn(node_env(env, workdir, name, PORT_BASE + offset),
                                                     workdir / f"gunicorn-{name}.log"))
             for name, offset in (("A", 2), ("B", 3))]
    workers = [celery_worker(env, workdir / f"worker-{n}.log", name=f"nodes{n}") for n in (1, 2)]
    failures: list[str] = []
    try:
        log(f"PostgreSQL on {pg.port}, Redis on {redis.port}, web nodes on {nodes[0].port} and {nodes[1].port} "
            f"({workdir})")
        pg.init()
        redis.start()
        manage(env, "migrate", "--noinput", "-v", "0")
        key = manage(env, "shell", "-c", "from apps.products.models import Product; print(Product.objects."
                     f"create(slug='{SLUG}', name='Nodes').ingest_key)").split()[-1]
        token = manage(env, "shell", "-c", "from django.contrib.auth.models import User; from rest_framework.authtoken."
                       "models import Token; user = User.objects.create_user('nodes', is_staff=True, is_superuser="
                       "True); print(Token.objects.create(user=user).key)").split()[-1]
        for process in [*(node.process for node in nodes), *workers]:
            process.start()
        for node in nodes:
            wait_for(partial(healthy, node.port), seconds=90, what=f"web node {node.name} answers /healthz")
        for n in (1, 2):
            wait_for(partial(ready, workdir / f"worker-{n}.log"), seconds=90, what=f"Celery worker {n} ready")
        log("two web nodes and two workers are up")
        race(nodes, key, pg, failures)
        answers_agree(nodes, key, token, env, failures)
        jobs_agree(pg, env, workdir, failures)
    except Exception as exc:  # a harness step failed: report it as a failure, after cleaning up
        failures.append(f"harness: {exc.__class__.__name__}: {exc}")
    finally:
        for process in [*(node.process for node in nodes), *workers]:
            process.stop()
        redis.cleanup()
        pg.cleanup()
        if os.environ.get("NODES_KEEP") != "1":
            remove(workdir)
    print()
    for failure in failures:
        print(f"FAIL: {failure}")
    print(f"multi-node test {'FAILED' if failures else 'passed'} in {time.monotonic() - started:.0f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
