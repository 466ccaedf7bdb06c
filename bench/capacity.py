"""Capacity plan: from the seed products' real ping schedules to nodes, connections and disk.

    .venv/bin/python bench/capacity.py                       # the plan table for 10^4 .. 10^7 instances
    .venv/bin/python bench/capacity.py --markdown --retention-days 90
    .venv/bin/python bench/capacity.py --per-node 2600       # a what-if instead of the measured figure

The load model (docs/scaling.md says where each schedule comes from):
- Appsmith: a keep-alive every 2 h (older servers every 6 h) and one `instance_stats` event a day;
- FlowFuse: one ping every 24 h at a random time, and one 30 s after each start;
- Hasura: one server ping a day, plus one per connected data source;
- Wasp: CLI pings only when the CLI runs, at most twice per 12 h per user.
A fleet is split between the four by `--mix`. The mean request rate follows from the schedules;
the peak is `--burst` times the mean (healthchecks.io sees ~10x at the top of the hour: cron-driven
senders and restarts after a host reboot line up).

Measured inputs: the heartbeat rate one 2-core node sustains and the PostgreSQL CPU time per
heartbeat are read from the ingest benchmark's latest figures (`make bench-ingest` writes
bench/results/ingest.json; `--bench` names another file), so a re-run of the bench updates the
plan. `--per-node` and `--pg-ms` override them. Each node is planned at `--headroom` of its
saturation rate, where the bench's p99 holds. The job figures (rollup, staleness and purge rates)
are `make bench-jobs`'s (docs/performance.md). Disk follows from events per day, retention and the
bytes per stored event.
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

DAY = 86_400.0
HOUR = 3_600.0
REPO = Path(__file__).resolve().parents[1]
BENCH_RESULTS = REPO / "bench" / "results" / "ingest.json"


@dataclass(frozen=True)
class Schedule:
    product: str
    pings_per_day: float  # requests per instance per day, heartbeats and scheduled events together
    events_per_ping: float  # stored event rows per request
    why: str


SCHEDULES = (
    Schedule("appsmith", 24 / 2 * 0.8 + 24 / 6 * 0.2 + 1, 1.0,
             "keep-alive every 2 h (20 % of servers on the older 6 h), instance_stats daily"),
    Schedule("flowfuse", 1 + 1 / 7, 1.0, "every 24 h at a random time, plus one 30 s after a (weekly) restart"),
    Schedule("hasura", 1 + 1.5, 1.0, "server ping daily plus one per data source (1.5 on average)"),
    Schedule("wasp", 2 * 0.5, 1.0, "CLI: at most 2 per 12 h per user, half the users run it on a given day"),
)


@dataclass(frozen=True)
class Measured:
    """What one 2-core node did in the ingest bench, and where that figure came from."""

    per_node: float  # heartbeats/s at saturation
    pg_ms: float  # PostgreSQL CPU ms per heartbeat
    p99_ms_at_70: float | None
    source: str


@dataclass(frozen=True)
class Jobs:
    """`make bench-jobs` figures: how fast the scheduled jobs chew through rows (docs/performance.md)."""

    rollup_events_per_s: float = 333_797 / 1.91
    staleness_s_per_million: float = 1.27
    purge_events_per_s: float = 330_000 / 1.81


@dataclass(frozen=True)
class Node:
    workers: int = 2  # gunicorn processes per 2-core node (docker/gunicorn.conf.py: one per core)
    threads: int = 16


@dataclass(frozen=True)
class Plan:
    instances: int
    mean_rps: float
    peak_rps: float
    web_nodes: int
    pg_cores: int
    job_seconds_per_hour: float
    job_processes: int
    direct_connections: int
    pgbouncer_clients: int
    pgbouncer_pool: int
    events_per_day: float
    disk_gb: float


def load_measured(path: Path | None, *, per_node: float | None, pg_ms: float | None) -> Measured:
    """The bench's figures for steady-state heartbeats; explicit options win over the file."""
    document: dict[str, Any] = {}
    shown = ""
    if path is not None and path.exists():
        document = orjson.loads(path.read_bytes())
        shown = str(path.resolve().relative_to(REPO) if path.resolve().is_relative_to(REPO) else path)
    scenarios = document.get("scenarios") or {}
    # A fleet's pings are mostly keep-alives of known instances, with some first heartbeats: plan on
    # the slower of the two, so neither mix can overrun the nodes.
    steady = [scenarios[key] for key in ("heartbeat", "heartbeat_known") if key in scenarios]
    paced = scenarios.get("heartbeat70")
    if steady:
        source = (f"{shown} ({document.get('measured_at', '?')}, commit {document.get('commit', '?')}, "
                  f"{document.get('server', {}).get('workers', '?')} x {document.get('server', {}).get('threads', '?')}"
                  f" threads, load avg {document.get('machine', {}).get('load_avg_at_start', '?')})")
        measured_node = min(s["rate"] for s in steady)
        measured_pg = max(s["cpu_ms_per_request"]["postgres"] for s in steady)
    else:
        source, measured_node, measured_pg = "no bench results: defaults", 1300.0, 0.3
    if per_node is not None or pg_ms is not None:
        source = "command line" + (f" (other figures from {source})" if steady else "")
    return Measured(per_node if per_node is not None else measured_node,
                    pg_ms if pg_ms is not None else measured_pg,
                    paced["p99_ms"] if paced and per_node is None else None, source)


def plan(instances: int, *, mix: dict[str, float], measured: Measured, burst: float = 10.0, headroom: float = 0.7,
         node: Node = Node(), jobs: Jobs = Jobs(), bytes_per_event: int = 427, bytes_per_instance: int = 2200,
         retention_days: int = 365, hold_factor: float = 4.0) -> Plan:
    per_day = sum(instances * mix[s.product] * s.pings_per_day for s in SCHEDULES)
    events = sum(instances * mix[s.product] * s.pings_per_day * s.events_per_ping for s in SCHEDULES)
    mean = per_day / DAY
    peak = mean * burst
    nodes = max(2, math.ceil(peak / (measured.per_node * headroom)))  # two, so one can restart
    # PostgreSQL CPU at the peak, at the same headroom; two cores at least (jobs and staff reads run beside).
    pg_cores = max(2, math.ceil(peak * measured.pg_ms / 1000 / headroom))
    # The hourly rollup recomputes today and yesterday; staleness runs every 5 minutes; purge daily.
    job_seconds = (2 * events / jobs.rollup_events_per_s + 12 * jobs.staleness_s_per_million * instances / 1e6
                   + events / jobs.purge_events_per_s / 24)
    job_processes = max(2, math.ceil(job_seconds / (HOUR * headroom)))  # two: one can restart
    # Every web thread holds a connection, plus each process's group-commit writer; workers and beat one each.
    clients = nodes * node.workers * (node.threads + 1) + job_processes + 1
    # Transaction pooling: a server connection is busy only while a transaction runs. Little's law on
    # the peak with the measured PostgreSQL time per request (held `hold_factor` times longer than its
    # CPU time: round trips and commit), never below PostgreSQL's rule of thumb of two per core; the jobs'
    # long transactions get connections of their own.
    busy = peak * measured.pg_ms / 1000 * hold_factor
    pool = max(2 * pg_cores, math.ceil(busy)) + job_processes
    disk = (events * retention_days * bytes_per_event + instances * bytes_per_instance) / 1e9
    return Plan(instances, mean, peak, nodes, pg_cores, job_seconds, job_processes, clients, clients, pool,
                events, disk)


HEADER = ("instances", "mean req/s", "peak req/s", "web nodes", "PG cores", "job s/hour", "job procs",
          "direct PG conns", "PgBouncer clients", "PgBouncer pool", "events/day", "disk GB")


def cells(p: Plan) -> tuple[str, ...]:
    return (f"{p.instances:,}", f"{p.mean_rps:,.1f}", f"{p.peak_rps:,.0f}", str(p.web_nodes), str(p.pg_cores),
            f"{p.job_seconds_per_hour:,.0f}", str(p.job_processes), f"{p.direct_connections:,}",
            f"{p.pgbouncer_clients:,}", str(p.pgbouncer_pool), f"{p.events_per_day:,.0f}", f"{p.disk_gb:,.1f}")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", default="10000,100000,1000000,10000000")
    parser.add_argument("--mix", default="appsmith=0.4,flowfuse=0.2,hasura=0.3,wasp=0.1",
                        help="share of the fleet per product")
    parser.add_argument("--bench", type=Path, default=BENCH_RESULTS,
                        help="the ingest bench's JSON figures (default: %(default)s)")
    parser.add_argument("--per-node", type=float, default=None,
                        help="heartbeats/s one 2-core web node sustains (default: the bench's figures)")
    parser.add_argument("--pg-ms", type=float, default=None,
                        help="PostgreSQL CPU ms per heartbeat (default: the bench's figures)")
    parser.add_argument("--burst", type=float, default=10.0, help="peak / mean request rate")
    parser.add_argument("--headroom", type=float, default=0.7, help="plan each node at this share of saturation")
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--workers-per-node", type=int, default=2)
    parser.add_argument("--bytes-per-event", type=int, default=427,
                        help="heap + indexes per stored event (measured on the bench database)")
    parser.add_argument("--bytes-per-instance", type=int, default=2200)
    parser.add_argument("--retention-days", type=int, default=365)
    parser.add_argument("--hold-factor", type=float, default=4.0,
                        help="how much longer a transaction holds its server connection than its CPU time")
    parser.add_argument("--markdown", action="store_true")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    mix = {k: float(v) for k, v in (item.split("=") for item in args.mix.split(","))}
    if abs(sum(mix.values()) - 1) > 1e-6 or set(mix) != {s.product for s in SCHEDULES}:
        print("--mix must give a share to each of appsmith, flowfuse, hasura, wasp, adding up to 1", file=sys.stderr)
        return 2
    measured = load_measured(args.bench, per_node=args.per_node, pg_ms=args.pg_ms)
    rows = [cells(plan(int(n), mix=mix, measured=measured, burst=args.burst, headroom=args.headroom,
                       node=Node(args.workers_per_node, args.threads), bytes_per_event=args.bytes_per_event,
                       bytes_per_instance=args.bytes_per_instance, retention_days=args.retention_days,
                       hold_factor=args.hold_factor))
            for n in args.instances.split(",")]
    header = [*HEADER[:-1], f"disk GB ({args.retention_days} days)"]
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
        print("  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
        for row in rows:
            print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
    p99 = f", p99 {measured.p99_ms_at_70:g} ms at ~70 %" if measured.p99_ms_at_70 is not None else ""
    print(f"# per web node: {measured.per_node:,.0f} heartbeats/s at saturation, planned at {args.headroom:.0%}{p99}; "
          f"PostgreSQL {measured.pg_ms:g} ms CPU per heartbeat; from {measured.source}")
    for s in SCHEDULES:
        print(f"# {s.product}: {s.pings_per_day:.2f} requests per instance per day ({s.why})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
