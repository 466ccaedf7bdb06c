"""Capacity plan: from the seed products' real ping schedules to nodes, connections and disk.

    .venv/bin/python bench/capacity.py                       # the plan table for 10^4 .. 10^7 instances
    .venv/bin/python bench/capacity.py --per-node 1300 --burst 10 --markdown

The load model (docs/scaling.md says where each schedule comes from):
- Appsmith: a keep-alive every 2 h (older servers every 6 h) and one `instance_stats` event a day;
- FlowFuse: one ping every 24 h at a random time, and one 30 s after each start;
- Hasura: one server ping a day, plus one per connected data source;
- Wasp: CLI pings only when the CLI runs, at most twice per 12 h per user.
A fleet is split between the four by `--mix`. The mean request rate follows from the schedules;
the peak is `--burst` times the mean (healthchecks.io sees ~10x at the top of the hour: cron-driven
senders and restarts after a host reboot line up). Capacity per web node is the heartbeat rate one
2-core node sustains in `make bench-ingest` (docs/performance.md), planned at `--headroom` of it
so the p99 holds. Disk follows from events per day, retention and the bytes per stored event.
"""

import argparse
import math
from dataclasses import dataclass

DAY = 86_400.0


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
class Plan:
    instances: int
    mean_rps: float
    peak_rps: float
    web_nodes: int
    server_connections: int
    pgbouncer_pool: int
    events_per_day: float
    disk_gb: float


def plan(instances: int, *, mix: dict[str, float], per_node: float, burst: float, headroom: float,
         threads: int, workers_per_node: int, bytes_per_event: int, bytes_per_instance: int,
         retention_days: int, db_cores: int) -> Plan:
    per_day = sum(instances * mix[s.product] * s.pings_per_day for s in SCHEDULES)
    events = sum(instances * mix[s.product] * s.pings_per_day * s.events_per_ping for s in SCHEDULES)
    mean = per_day / DAY
    peak = mean * burst
    nodes = max(2, math.ceil(peak / (per_node * headroom)))  # two, so one can restart
    direct = nodes * workers_per_node * (threads + 1)
    # PgBouncer in transaction mode: a server connection is busy only during a transaction, so a few
    # per database core keep PostgreSQL saturated without context-switch storms.
    pool = max(10, 4 * db_cores)
    disk = (events * retention_days * bytes_per_event + instances * bytes_per_instance) / 1e9
    return Plan(instances, mean, peak, nodes, direct, pool, events, disk)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instances", default="10000,100000,1000000,10000000")
    parser.add_argument("--mix", default="appsmith=0.4,flowfuse=0.2,hasura=0.3,wasp=0.1",
                        help="share of the fleet per product")
    parser.add_argument("--per-node", type=float, default=1300.0,
                        help="heartbeats/s one 2-core web node sustains (make bench-ingest)")
    parser.add_argument("--burst", type=float, default=10.0, help="peak / mean request rate")
    parser.add_argument("--headroom", type=float, default=0.7, help="plan each node at this share of saturation")
    parser.add_argument("--threads", type=int, default=16)
    parser.add_argument("--workers-per-node", type=int, default=2)
    parser.add_argument("--bytes-per-event", type=int, default=420,
                        help="heap + indexes per stored heartbeat event (measured on the bench database)")
    parser.add_argument("--bytes-per-instance", type=int, default=2200)
    parser.add_argument("--retention-days", type=int, default=365)
    parser.add_argument("--db-cores", type=int, default=8)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    mix = {k: float(v) for k, v in (item.split("=") for item in args.mix.split(","))}
    if abs(sum(mix.values()) - 1) > 1e-6 or set(mix) != {s.product for s in SCHEDULES}:
        parser.error("--mix must give a share to each of appsmith, flowfuse, hasura, wasp, adding up to 1")
    rows = [plan(int(n), mix=mix, per_node=args.per_node, burst=args.burst, headroom=args.headroom,
                 threads=args.threads, workers_per_node=args.workers_per_node,
                 bytes_per_event=args.bytes_per_event, bytes_per_instance=args.bytes_per_instance,
                 retention_days=args.retention_days, db_cores=args.db_cores)
            for n in args.instances.split(",")]
    header = ("instances", "mean req/s", "peak req/s", "web nodes", "direct PG conns", "PgBouncer pool",
              "events/day", "disk (GB)")
    cells = [(f"{p.instances:,}", f"{p.mean_rps:,.1f}", f"{p.peak_rps:,.0f}", str(p.web_nodes),
              f"{p.server_connections:,}", str(p.pgbouncer_pool), f"{p.events_per_day:,.0f}", f"{p.disk_gb:,.1f}")
             for p in rows]
    if args.markdown:
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for row in cells:
            print("| " + " | ".join(row) + " |")
    else:
        widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(header)]
        print("  ".join(h.rjust(w) for h, w in zip(header, widths, strict=True)))
        for row in cells:
            print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))
    for s in SCHEDULES:
        print(f"# {s.product}: {s.pings_per_day:.2f} requests per instance per day ({s.why})")


if __name__ == "__main__":
    main()
