"""Appsmith: everything is Segment (analytics-java on the server, analytics.js in the browser, the
Docker install script), sent to /v1/batch with the write key as HTTP Basic user; the server's daily
`instance_stats` carries its counts (PingScheduledTaskCEImpl).

Payload shapes follow seeds/000 (keep-alive FETCH_RELEASE_NOTES every 2 h, Installation Setup
Complete, backend calls, page loads) and seeds/001 (install-script funnel; userId is the raw IP).
"""

import random
from datetime import datetime, timedelta
from typing import Any

from ..fleet import SEGMENT, Record
from ..plan import InstancePlan, hex_id, uid

SLUG = "appsmith"
NAME = "Appsmith"
HEARTBEAT_INTERVAL = 2 * 3600
RELEASES = ["v1.9.13", "v1.9.15", "v1.9.56", "v1.10.2", "v1.11.0"]
PRODUCT_DEFAULTS: dict[str, int] = {}
NOTICE = {"level": "security", "title": "Critical: authentication bypass in v1.9.x",
          "message": "Instances up to v1.9.56 accept forged session cookies. Upgrade to v1.10.2 or later.",
          "url": "https://example.com/appsmith/security/2024-01", "max_version": "v1.9.56"}
BACKEND_EVENTS = ["execute_ACTION_TRIGGERED", "create_APPLICATION", "create_PAGE", "login", "update_DATASOURCE"]
PLUGINS = ["PostgreSQL", "MongoDB", "REST API", "MySQL", "Google Sheets"]
GOALS = ["just exploring", "build internal tools", "replace a spreadsheet"]


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _track(rng: random.Random, when: datetime, event: str, properties: dict[str, Any], *,
           user_id: str | None = None, anonymous_id: str | None = None,
           library: str = "analytics-java", **extra: Any) -> dict[str, Any]:
    item = {"type": "track", "event": event, "properties": properties, "timestamp": _iso(when),
            "messageId": uid(rng), "integrations": {},
            "context": {"library": {"name": library, "version": "2.1.1" if library == "analytics-java" else "unknown"}},
            **extra}
    if user_id:
        item["userId"] = user_id
    if anonymous_id:
        item["anonymousId"] = anonymous_id
    return item


def _ip(rng: random.Random) -> str:
    # Documentation ranges (RFC 5737): never a real address, still must never be stored raw.
    return f"{rng.choice(['192.0.2', '198.51.100', '203.0.113'])}.{rng.randrange(1, 255)}"


def _install_funnel(rng: random.Random, plan: InstancePlan | None, at: datetime) -> list[Record]:
    """Install-script runs: failed attempts (some asking for support), then the one that worked."""
    records, when, os_name = [], at - timedelta(minutes=30), rng.choice(["ubuntu", "debian", "centos", "macos"])
    failures = plan.install_failures if plan else 1
    for attempt in range(failures + (1 if plan else 0)):
        install_id, ip = uid(rng), _ip(rng)
        steps = ["Installation Started"]
        steps += ["Installation Errors"] + (["Installation Support"] if rng.random() < 0.3 else []) \
            if attempt < failures else ["Installation Success"]
        for step in steps:
            properties: dict[str, Any] = {"os": os_name}
            if step == "Installation Errors":
                properties["error"] = rng.choice(["docker not running", "port 80 in use", "disk full"])
            if step == "Installation Support":
                properties["email"] = "admin@example.com"
                properties["subscribe-marketing"] = True  # the user typed it in to be contacted
            records.append(Record(when, SEGMENT, _track(rng, when, step, properties, user_id=ip,
                                                        anonymous_id=install_id, library="unknown")))
            when += timedelta(minutes=rng.randrange(1, 6))
    return records


def _setup(rng: random.Random, plan: InstancePlan) -> Record:
    consent = rng.random() < 0.25
    properties = {
        "instanceId": plan.uid, "id": plan.uid, "version": plan.version_at(plan.start),
        "edition": plan.extra["edition"], "goal": rng.choice(GOALS), "role": "frontend engineer",
        "proficiency": "", "disable-telemetry": False, "originService": "appsmith-server",
        "ipAddress": _ip(rng), "subscribe-marketing": consent,
        "email": "founder@example.com" if consent else "", "name": "Ada Example" if consent else "",
        "emailDomainHash": hex_id(rng, 64),
    }
    return Record(plan.start, SEGMENT, _track(rng, plan.start, "Installation Setup Complete", properties,
                                              user_id=plan.uid))


def _keep_alive(rng: random.Random, plan: InstancePlan, when: datetime) -> Record:
    properties = {"instanceId": plan.uid, "id": plan.uid, "distinct_id": plan.uid, "version": plan.version_at(when),
                  "edition": plan.extra["edition"], "type": "fetch-release-notes", "originService": "cloud-services",
                  "$insert_id": uid(rng)}
    return Record(when, SEGMENT, _track(rng, when, "FETCH_RELEASE_NOTES", properties, user_id=plan.uid))


def _instance_stats(rng: random.Random, plan: InstancePlan, when: datetime, day: int) -> Record:
    """PingScheduledTaskCEImpl.pingStats: counts in the properties, version and edition beside them."""
    apps = plan.extra["apps"] + day // 3
    properties = {"instanceId": plan.uid, "numOrgs": max(1, apps // 6), "numApps": apps, "numPages": apps * 3,
                  "numActions": apps * 11, "numDatasources": max(1, apps // 2), "numUsers": plan.extra["users"]}
    return Record(when, SEGMENT, _track(rng, when, "instance_stats", properties, user_id=plan.uid,
                                        version=plan.version_at(when), edition=plan.extra["edition"]))


def _usage(rng: random.Random, plan: InstancePlan, when: datetime) -> list[Record]:
    """A few backend calls (with instanceId) and browser page loads (anonymous, no instance)."""
    out = []
    for _ in range(rng.randrange(0, 4)):
        at = when + timedelta(minutes=rng.randrange(0, 110))
        out.append(Record(at, SEGMENT, _track(rng, at, rng.choice(BACKEND_EVENTS), {
            "instanceId": plan.uid, "appId": hex_id(rng), "appMode": rng.choice(["edit", "view"]),
            "pluginName": rng.choice(PLUGINS), "isSuccessfulExecution": rng.random() > 0.1,
            "timeElapsed": rng.randrange(2, 400), "originService": "appsmith-server", "type": "DB",
            "username": hex_id(rng, 64)}, user_id=hex_id(rng, 64))))
    if rng.random() < 0.3:
        at = when + timedelta(minutes=rng.randrange(0, 110))
        out.append(Record(at, SEGMENT, _track(
            rng, at, "APPLICATIONS_PAGE_LOAD", {}, anonymous_id=uid(rng), library="analytics.js",
            user_id=hex_id(rng, 64),
            context={"ip": _ip(rng), "library": {"name": "analytics.js", "version": "4.0.4"}, "locale": "en-US",
                     "page": {"path": "/applications", "title": "Editor | Appsmith"},
                     "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0"})))
    return out


def records(*, rng: random.Random, plans: list[InstancePlan], window_start: datetime,
            now: datetime) -> list[Record]:
    out: list[Record] = []
    interval = timedelta(seconds=HEARTBEAT_INTERVAL)
    for plan in plans:
        plan.extra.update(edition="EE" if rng.random() < 0.2 else "CE", apps=rng.randrange(1, 40),
                          users=rng.randrange(1, 200))
        if plan.installed_here:
            out += _install_funnel(rng, plan, plan.start)
        out.append(_setup(rng, plan))
        for n, when in enumerate(plan.heartbeat_times(interval, window_start, now)):
            out.append(_keep_alive(rng, plan, when))
            if n % 12 == 0:  # the server's daily counts
                out.append(_instance_stats(rng, plan, when, n // 12))
            if n % 6 == 0:  # usage clusters around a few keep-alives a day
                out += [r for r in _usage(rng, plan, when) if r.at <= now]
    for _ in range(max(2, len(plans) // 4)):  # installs that never became an instance
        out += _install_funnel(rng, None, window_start + (now - window_start) * rng.uniform(0.05, 0.95))
    return out
