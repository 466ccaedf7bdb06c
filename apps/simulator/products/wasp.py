"""Wasp (seeds/004): the CLI's pings, posted to /api/v1/ingest/wasp the way the CLI sends them to
PostHog (`{"event": "cli" | "install", "properties": {...}, "timestamp", "uuid"}`).

CLI events carry distinct_id (the CLI installation), project_hash, is_build, deploy_cmd_args,
wasp_version, os and context, at most twice per 12 hours; install.sh sends one "install" event
with a random distinct_id and the os.
"""

import random
from datetime import datetime, timedelta
from typing import Any

from ..fleet import WASP, Record
from ..plan import InstancePlan, hex_id, uid

SLUG = "wasp"
NAME = "Wasp"
HEARTBEAT_INTERVAL = 12 * 3600
RELEASES = ["0.11.8", "0.12.4", "0.13.2", "0.14.0", "0.15.0"]
PRODUCT_DEFAULTS: dict[str, int] = {"stale_after": 3 * 24 * 3600}  # a CLI is used on working days, not around the clock
NOTICE = {"level": "info", "title": "Wasp 0.15 is out",
          "message": "Faster builds and a new deploy command. Run `wasp upgrade`.",
          "url": "https://example.com/wasp/0.15", "max_version": "0.14.0"}
DEPLOY_ARGS = ["", "", "", "fly;deploy", "fly;setup", "fly;create-db", "fly;cmd"]


def _capture(rng: random.Random, event: str, when: datetime, properties: dict[str, Any]) -> dict[str, Any]:
    return {"event": event, "properties": properties, "timestamp": when.isoformat(), "uuid": uid(rng)}


def _cli(rng: random.Random, plan: InstancePlan, when: datetime, is_build: bool) -> dict[str, Any]:
    return _capture(rng, "cli", when, {
        "distinct_id": plan.uid, "project_hash": plan.extra["project_hash"], "is_build": is_build,
        "deploy_cmd_args": rng.choice(DEPLOY_ARGS) if is_build else "", "wasp_version": plan.version_at(when),
        "os": plan.extra["os"], "context": plan.extra["context"]})


def records(*, rng: random.Random, plans: list[InstancePlan], window_start: datetime,
            now: datetime) -> list[Record]:
    out: list[Record] = []
    interval = timedelta(seconds=HEARTBEAT_INTERVAL)
    for plan in plans:
        plan.extra.update(project_hash=hex_id(rng, 16), os=rng.choice(["linux", "macos", "windows"]),
                          context="CI" if rng.random() < 0.15 else rng.choice(["", "", "gitpod", "replit"]))
        if plan.installed_here:
            at = plan.start - timedelta(minutes=5)
            out.append(Record(at, WASP, _capture(rng, "install", at, {
                "distinct_id": str(rng.getrandbits(80)), "os": plan.extra["os"]})))
        for when in [plan.start, *plan.heartbeat_times(interval, window_start, now)]:
            if rng.random() < 0.75:  # developers do not run wasp every half day
                out.append(Record(when, WASP, _cli(rng, plan, when, is_build=rng.random() < 0.2)))
    return out
