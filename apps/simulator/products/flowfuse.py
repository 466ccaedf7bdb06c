"""FlowFuse: core telemetry (seeds/003), sent 30 s after start and then every 24 hours.

The payload carries no time of its own (FlowFuse's collector stamps it on receipt), so a replayed
history cannot go through /api/v1/ingest/flowfuse: those pings go through the native protocol
(/api/v1/ingest) with the same content and an explicit timestamp, and each live instance's latest
ping goes through /api/v1/ingest/flowfuse exactly as FlowFuse sends it.
"""

import random
from datetime import datetime, timedelta
from typing import Any

from ..fleet import FLOWFUSE, NATIVE, Record
from ..plan import InstancePlan, uid

SLUG = "flowfuse"
NAME = "FlowFuse"
HEARTBEAT_INTERVAL = 24 * 3600
RELEASES = ["1.14.0", "2.0.1", "2.3.0", "2.5.0", "2.6.1"]
PRODUCT_DEFAULTS: dict[str, int] = {}
NOTICE = None
LICENSE_TYPES = ["DEV", "TEAM", "ENTERPRISE"]


def _payload(rng: random.Random, plan: InstancePlan, when: datetime, day: int) -> dict[str, Any]:
    size = plan.extra["size"]
    payload = {
        "instanceId": plan.uid,
        "os": plan.extra["os"],
        "env": {"nodejs": "v18.19.0", "flowforge": plan.version_at(when)},
        "platform": {
            "counts": {"users": size + day // 5, "teams": max(1, size // 2), "projects": size + day // 3,
                       "devices": size * 2, "projectSnapshots": size * 3 + day, "projectTemplates": 2,
                       "projectStacks": 2, "libraryEntries": day // 4, "sharedLibraryEntries": 1},
            "config": {"driver": plan.extra["driver"], "broker": {"enabled": True},
                       "fileStore": {"enabled": size > 3}, "email": {"enabled": rng.random() < 0.6}},
        },
    }
    if plan.extra["license"]:
        payload["platform"]["license"] = plan.extra["license"]
    return payload


def _native(plan: InstancePlan, when: datetime, payload: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    record = {"type": "heartbeat", "instance_id": plan.uid, "message_id": uid(rng), "event": "flowfuse.ping",
              "timestamp": when.isoformat(), "version": payload["env"]["flowforge"],
              "os": payload["os"]["type"], "arch": payload["os"]["arch"],
              "metrics": {"platform": payload["platform"]["counts"]}, "properties": payload}
    if "license" in payload["platform"]:
        record["license"] = payload["platform"]["license"]
    return record


def records(*, rng: random.Random, plans: list[InstancePlan], window_start: datetime,
            now: datetime) -> list[Record]:
    out: list[Record] = []
    interval = timedelta(seconds=HEARTBEAT_INTERVAL)
    for plan in plans:
        licensed = rng.random() < 0.5
        plan.extra.update(
            size=rng.randrange(1, 30), driver=rng.choice(["localfs", "docker", "kubernetes"]),
            os=rng.choice([{"type": "Linux", "release": "6.1.0", "arch": "x64"},
                           {"type": "Darwin", "release": "20.5.0", "arch": "arm64"}]),
            license={"id": uid(rng), "type": rng.choice(LICENSE_TYPES)} if licensed else None)
        times = [plan.start, *plan.heartbeat_times(interval, window_start, now)]
        for day, when in enumerate(times):
            payload = _payload(rng, plan, when, day)
            # The latest ping of a live instance, if due today, arrives now through FlowFuse's own endpoint.
            is_latest = day == len(times) - 1 and plan.alive_at(now - timedelta(hours=1)) and when.date() == now.date()
            out.append(Record(now, FLOWFUSE, payload) if is_latest else Record(when, NATIVE, _native(plan, when,
                                                                                                    payload, rng)))
    return out
