"""FlowFuse: the usage ping (seeds/003 and today's `telemetryMetrics`), sent 30 s after start and
then every 24 hours to /api/v1/ingest/flowfuse/<key> (FlowFuse's ping carries no key: the URL does).

The payload carries no time of its own (FlowFuse's collector stamps it on receipt), so the replay
adds the `timestamp` it sends each ping at: a history lands on its days, and a second run with the
same seed finds every ping already stored.
"""

import random
from datetime import datetime, timedelta
from typing import Any

from ..fleet import FLOWFUSE, Record
from ..plan import InstancePlan, uid

SLUG = "flowfuse"
NAME = "FlowFuse"
HEARTBEAT_INTERVAL = 24 * 3600
RELEASES = ["1.14.0", "2.0.1", "2.3.0", "2.5.0", "2.6.1"]
PRODUCT_DEFAULTS: dict[str, int] = {}
NOTICE = None
LICENSE_TYPES = ["DEV", "EE"]


def _payload(rng: random.Random, plan: InstancePlan, when: datetime, day: int) -> dict[str, Any]:
    size = plan.extra["size"]
    licensed = bool(plan.extra["license"]["id"])
    payload = {
        "instanceId": plan.uid,
        "os": plan.extra["os"],
        "env": {"nodejs": "v18.19.0", "flowforge": plan.version_at(when)},
        "platform": {
            "counts": {"users": size + day // 5, "teams": max(1, size // 2), "projects": size + day // 3,
                       "projectsByState": {"suspended": size // 7}, "devices": size * 2,
                       "devicesByLastSeen": {"never": size // 5, "day": size + rng.randrange(0, size + 1)},
                       "projectSnapshots": size * 3 + day, "projectTemplates": 2, "projectStacks": 2,
                       "libraryEntries": day // 4, "blueprints": 2 if licensed else 0,
                       "sharedLibraryEntries": 1 if licensed else 0,
                       "teamBrokerClients": size // 3 if licensed else 0, "remoteBrokers": 1 if licensed else 0},
            "config": {"driver": plan.extra["driver"], "broker": {"enabled": True},
                       "fileStore": {"enabled": size > 3}, "email": {"enabled": rng.random() < 0.6}},
            "license": plan.extra["license"],
        },
    }
    return payload


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
            license={"id": uid(rng), "type": rng.choice(LICENSE_TYPES)} if licensed else {"id": "", "type": "CE"})
        for day, when in enumerate([plan.start, *plan.heartbeat_times(interval, window_start, now)]):
            out.append(Record(when, FLOWFUSE, {**_payload(rng, plan, when, day),
                                               "timestamp": when.isoformat(timespec="milliseconds")}))
    return out
