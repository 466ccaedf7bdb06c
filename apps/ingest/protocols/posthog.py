"""PostHog's capture API (`/batch/`, `/capture/`, `/e/`, `/i/v0/e/`) as posthog-python, posthog-js
and Wasp's CLI send it: one event, a list, or `{"batch": [...], "api_key": ..., "sent_at": ...}`.

`uuid` (or Mixpanel-style `$insert_id`) is the message id; `timestamp`, or `offset` milliseconds
before sending, the client time; `sent_at`/`sentAt` the sending time. Which events are heartbeats
or install steps is the product's setting; a heartbeat's instance is the event's `instanceId`
property, else its `distinct_id`.
"""

from typing import Any

from apps.core.privacy import has_consent
from apps.ingest.envelope import HEARTBEAT, INSTALL, Envelope, EventRules, Parsed, RecordInvalid

from .common import (
    ARCH_KEYS,
    CONTEXT_KEYS,
    ERROR_KEYS,
    INSTANCE_KEYS,
    IP_FIELDS,
    OS_KEYS,
    VERSION_KEYS,
    batch_items,
    first,
    heartbeat_metrics,
    ip_of,
    loose_text,
    mapping,
    mixpanel_time,
    read_records,
    text,
    time_of,
)

# How far back an `offset` may place an event: beyond it the arithmetic would leave the calendar.
MAX_OFFSET_MS = 10 * 366 * 24 * 3600 * 1000
# Credentials and transport details that are not the event's data.
_NOT_PROPERTIES = ("token", "api_key", "distinct_id")


def parse(body: Any, *, rules: EventRules) -> Parsed:
    items, shared = batch_items(body)
    sent_at = shared.get("sent_at") or shared.get("sentAt")
    return read_records(items, lambda event: _event(event, rules=rules, sent_at=event.get("sent_at", sent_at)))


def event_token(event: dict[str, Any]) -> str:
    token = event.get("api_key") or event.get("token") or mapping(event.get("properties"), "properties").get("token")
    return token if isinstance(token, str) else ""


def _event(event: dict[str, Any], *, rules: EventRules, sent_at: Any) -> Envelope:
    properties = mapping(event.get("properties"), "properties")
    name = text(event.get("event"), "event")
    distinct_id = text(event.get("distinct_id") or properties.get("distinct_id") or properties.get("$distinct_id"),
                       "distinct_id")
    kind, step = rules.kind_of(name)
    offset = event.get("offset")
    if offset is not None and (isinstance(offset, bool) or not isinstance(offset, int | float)):
        raise RecordInvalid("invalid_field", "`offset` must be a number of milliseconds.")
    if offset is not None and not -MAX_OFFSET_MS <= offset <= MAX_OFFSET_MS:  # NaN fails both comparisons
        raise RecordInvalid("invalid_field", f"`offset` must be within ±{MAX_OFFSET_MS} milliseconds (ten years).")
    stored = {key: value for key, value in properties.items() if key not in _NOT_PROPERTIES}
    if distinct_id:
        stored["distinct_id"] = distinct_id
    for key in ("$set", "$set_once"):
        if isinstance(event.get(key), dict):
            stored.setdefault(key, event[key])
    reported_license = properties.get("license")
    license_ = reported_license if isinstance(reported_license, dict) else {}
    instance_id = text(first(properties, INSTANCE_KEYS), "instanceId")
    return Envelope(
        kind=kind, name=name, step=step,
        instance_id=instance_id or (distinct_id if kind == HEARTBEAT else ""),
        message_id=text(event.get("uuid") or properties.get("$insert_id"), "uuid"),
        client_time=time_of(event.get("timestamp"), "timestamp") or mixpanel_time(properties),
        sent_at=time_of(sent_at, "sent_at"),
        offset_ms=offset,
        version=loose_text(first(properties, VERSION_KEYS)),
        edition=loose_text(properties.get("edition")),
        os=loose_text(first(properties, OS_KEYS)),
        arch=loose_text(first(properties, ARCH_KEYS)),
        context=loose_text(first(properties, CONTEXT_KEYS)),
        metrics=heartbeat_metrics(properties) if kind == HEARTBEAT else None,
        metrics_key=name,
        license_id=loose_text(license_.get("id") or properties.get("license_id")),
        license_type=loose_text(license_.get("type")),
        properties=stored,
        consent=has_consent(properties, event.get("$set") if isinstance(event.get("$set"), dict) else None),
        install_id=distinct_id if kind == INSTALL else "",
        error=loose_text(first(properties, ERROR_KEYS)) if step == "failed" else "",
        ip=ip_of(*(properties.get(key) for key in IP_FIELDS), event.get("ip"), distinct_id)
        if kind in (HEARTBEAT, INSTALL) else "",
        token=event_token(event),
    )

