"""The native protocol of `POST /api/v1/ingest`: one record, a list, or `{"batch": [...], "sent_at": ...}`.

A record: `type` (heartbeat, install, event; default heartbeat, or event when `event` is given),
`instance_id`, `message_id`, `event`, `timestamp`, `version`, `edition`, `os`, `arch`, `context`,
`metrics` (object), `license` (`{id, type}`), `properties` (object), and for installs
`install_id`, `step` (started, succeeded, failed, support) and `error`. An `ipAddress` (or `ip`)
names the instance's own address when a proxy sends for it. The README documents it.

`{"type": "opt_out", "version", "os"}` counts an instance whose telemetry is off: only its version
and os (and `message_id`, `timestamp`) are read; anything else it carries is ignored, never stored
(docs/fleet-data.md).
"""

from typing import Any

from apps.core.privacy import has_consent
from apps.ingest.envelope import (
    EVENT,
    HEARTBEAT,
    INSTALL,
    KINDS,
    OPT_OUT,
    Envelope,
    EventRules,
    Parsed,
    ProtocolError,
    RecordInvalid,
)

from .common import IP_FIELDS, batch_items, ip_of, mapping, read_records, text, time_of


def parse(body: Any, *, rules: EventRules) -> Parsed:
    items, shared = batch_items(body)
    try:
        sent_at = time_of(shared.get("sent_at"), "sent_at")
    except RecordInvalid as exc:
        raise ProtocolError(exc.message, exc.code) from exc
    return read_records(items, lambda record: _record(record, sent_at))


def _record(record: dict[str, Any], sent_at: Any) -> Envelope:
    kind = record.get("type") or (EVENT if record.get("event") else HEARTBEAT)
    if kind not in KINDS:
        raise RecordInvalid("invalid_type", f"`type` must be one of {', '.join(KINDS)}.")
    if kind == OPT_OUT:
        return _opt_out(record, sent_at)
    step = text(record.get("step"), "step")
    name = text(record.get("event"), "event")
    if not name and kind == HEARTBEAT:
        name = "heartbeat"
    elif not name and kind == INSTALL:
        name = f"install.{step}" if step else "install"
    license_ = mapping(record.get("license"), "license")
    properties = mapping(record.get("properties"), "properties")
    return Envelope(
        kind=kind, name=name,
        instance_id=text(record.get("instance_id"), "instance_id"),
        message_id=text(record.get("message_id"), "message_id"),
        client_time=time_of(record.get("timestamp"), "timestamp"),
        sent_at=time_of(record.get("sent_at"), "sent_at") or sent_at,
        version=text(record.get("version"), "version"),
        edition=text(record.get("edition"), "edition"),
        os=text(record.get("os"), "os"),
        arch=text(record.get("arch"), "arch"),
        context=text(record.get("context"), "context"),
        metrics=mapping(record.get("metrics"), "metrics") or None,
        metrics_key=name,
        license_id=text(license_.get("id"), "license.id"),
        license_type=text(license_.get("type"), "license.type"),
        properties=properties,
        consent=has_consent(properties),
        install_id=text(record.get("install_id"), "install_id"),
        step=step,
        error=text(record.get("error"), "error"),
        ip=ip_of(*(record.get(key) for key in IP_FIELDS), *(properties.get(key) for key in IP_FIELDS)),
    )


def _opt_out(record: dict[str, Any], sent_at: Any) -> Envelope:
    return Envelope(
        kind=OPT_OUT, name=OPT_OUT,
        message_id=text(record.get("message_id"), "message_id"),
        client_time=time_of(record.get("timestamp"), "timestamp"),
        sent_at=time_of(record.get("sent_at"), "sent_at") or sent_at,
        version=text(record.get("version"), "version"),
        os=text(record.get("os"), "os"),
    )
