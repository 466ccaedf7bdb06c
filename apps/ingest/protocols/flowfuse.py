"""FlowFuse's usage ping, posted as-is to `/api/v1/ingest/flowfuse` (key in the URL: FlowFuse sends none).

`{instanceId, os: {type, release, arch}, env: {nodejs, flowforge}, platform: {counts, config,
license: {id, type}}}` (flowfuse `forge/housekeeper/tasks/telemetryMetrics/*.js`; today's counts
add `projectsByState`, `devicesByLastSeen`, `blueprints`, `teamBrokerClients`, `remoteBrokers`):
a heartbeat `flowfuse.ping` of `instanceId`, version `env.flowforge`, os/arch from `os`, metrics
`platform` (counts and config, whatever they hold), edition `CE`/`EE` from the licence type, and
the licence it runs under (a community install reports `{"id": "", "type": "CE"}`: no licence).
FlowFuse's collector stores an unsalted hash of the sender's address; we keep a keyed one.
"""

from typing import Any

from apps.ingest.envelope import HEARTBEAT, Envelope, EventRules, Parsed, RecordInvalid

from .common import batch_items, mapping, read_records, text, time_of, without


def parse(body: Any, *, rules: EventRules) -> Parsed:
    items, _ = batch_items(body)
    return read_records(items, _record)


def _record(payload: dict[str, Any]) -> Envelope:
    instance_id = text(payload.get("instanceId"), "instanceId")
    if not instance_id:
        raise RecordInvalid("missing_field", "`instanceId` is required.")
    os_ = mapping(payload.get("os"), "os")
    env = mapping(payload.get("env"), "env")
    platform = mapping(payload.get("platform"), "platform")
    license_ = mapping(platform.get("license"), "platform.license")
    metrics: dict[str, Any] = {key: platform[key] for key in ("counts", "config") if key in platform}
    license_type = text(license_.get("type"), "platform.license.type")
    return Envelope(
        kind=HEARTBEAT, name="flowfuse.ping", instance_id=instance_id,
        client_time=time_of(payload.get("timestamp"), "timestamp"),
        version=text(env.get("flowforge"), "env.flowforge"),
        edition=_edition(license_type) if license_ else "",
        os=text(os_.get("type"), "os.type"),
        arch=text(os_.get("arch"), "os.arch"),
        metrics=metrics or None, metrics_key="platform",
        license_id=text(license_.get("id"), "platform.license.id"),
        license_type=license_type,
        properties=without(payload, ("instanceId", "timestamp")),
    )


def _edition(license_type: str) -> str:
    """FlowFuse reports `CE` without a licence, `EE` with one and `DEV` with a development licence."""
    return "CE" if license_type.upper() in ("", "CE") else "EE"
