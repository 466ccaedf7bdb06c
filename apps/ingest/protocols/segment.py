"""Segment's HTTP Tracking API (`/v1/batch`, `/v1/track`, …) as analytics-java, analytics.js,
analytics-python and Appsmith's installer send it.

Batch-level `context` and `integrations` are merged into each message (the message wins).
Mixpanel-style exports (`{"event", "properties": {"time", "$insert_id", ...}}`, as Appsmith's
docs show its keep-alive) are read too: `$insert_id` is the message id, `time` the client time.
Which track events are heartbeats or install steps is the product's setting (`EventRules`).
"""

from typing import Any

from apps.core.privacy import has_consent, is_ip_address
from apps.ingest.envelope import EVENT, HEARTBEAT, INSTALL, Envelope, EventRules, Parsed, RecordInvalid

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

MESSAGE_TYPES = ("track", "identify", "page", "screen", "group", "alias")
# Non-track calls are stored as events named like PostHog names its own.
_TYPE_NAMES = {"identify": "$identify", "page": "$page", "screen": "$screen", "group": "$group", "alias": "$alias"}


def parse(body: Any, *, rules: EventRules, default_type: str = "track") -> Parsed:
    items, shared = batch_items(body)
    shared_context, shared_integrations = shared.get("context"), shared.get("integrations")
    batch_context = shared_context if isinstance(shared_context, dict) else {}
    batch_integrations = shared_integrations if isinstance(shared_integrations, dict) else {}
    sent_at = shared.get("sentAt")

    def build(message: dict[str, Any]) -> Envelope:
        merged = {**message,
                  "context": {**batch_context, **mapping(message.get("context"), "context")},
                  "integrations": {**batch_integrations, **mapping(message.get("integrations"), "integrations")}}
        return _message(merged, rules=rules, default_type=default_type, sent_at=message.get("sentAt", sent_at))

    return read_records(items, build)


def _payload(message: dict[str, Any], message_type: str) -> tuple[str, dict[str, Any]]:
    """The event name and what the message says about it, per Segment call type.

    Appsmith's install script sends its properties as `data`; that is read when `properties` is absent.
    """
    if "properties" not in message and isinstance(message.get("data"), dict):
        properties = message["data"]
    else:
        properties = mapping(message.get("properties"), "properties")
    traits = mapping(message.get("traits"), "traits")
    if message_type == "track":
        return text(message.get("event"), "event"), properties
    if message_type in ("page", "screen"):
        name = text(message.get("name"), "name")
        return _TYPE_NAMES[message_type], {**properties, **({"name": name} if name else {})}
    if message_type == "group":
        return "$group", {**traits, "group_id": text(message.get("groupId"), "groupId")}
    if message_type == "alias":
        return "$alias", {"previous_id": text(message.get("previousId"), "previousId")}
    return "$identify", traits or mapping(mapping(message.get("context"), "context").get("traits"), "traits")


def _message(message: dict[str, Any], *, rules: EventRules, default_type: str, sent_at: Any) -> Envelope:
    message_type = message.get("type") or default_type
    if message_type not in MESSAGE_TYPES:
        raise RecordInvalid("invalid_type", f"`type` must be one of {', '.join(MESSAGE_TYPES)}.")
    name, properties = _payload(message, message_type)
    context = message["context"]
    user_id = text(message.get("userId"), "userId")
    anonymous_id = text(message.get("anonymousId"), "anonymousId")
    kind, step = rules.kind_of(name) if message_type == "track" else (EVENT, "")
    stored = dict(properties)
    for key, value in (("$user_id", user_id), ("$anonymous_id", anonymous_id), ("$context", context)):
        if value and key not in stored:
            stored[key] = value
    context_os = mapping(context.get("os"), "context.os")
    context_app = mapping(context.get("app"), "context.app")
    reported_license = properties.get("license")
    license_ = reported_license if isinstance(reported_license, dict) else {}
    instance_id = text(first(properties, INSTANCE_KEYS) or first(context, INSTANCE_KEYS), "instanceId")
    if not instance_id and kind == HEARTBEAT and not is_ip_address(user_id):
        instance_id = user_id  # a server pinging for itself (Appsmith's keep-alive) names itself as the user
    return Envelope(
        kind=kind, name=name, step=step,
        instance_id=instance_id,
        message_id=text(message.get("messageId") or properties.get("$insert_id"), "messageId"),
        client_time=time_of(message.get("originalTimestamp") or message.get("timestamp"), "timestamp")
        or mixpanel_time(properties),
        sent_at=time_of(sent_at, "sentAt"),
        # Appsmith's daily `instance_stats` puts version and edition beside the event, not in it.
        version=loose_text(first(properties, VERSION_KEYS) or message.get("version") or context_app.get("version")),
        edition=loose_text(properties.get("edition") or message.get("edition")),
        os=_os_name(first(properties, OS_KEYS)) or loose_text(context_os.get("name")),
        arch=loose_text(first(properties, ARCH_KEYS)),
        context=loose_text(first(properties, CONTEXT_KEYS)),
        metrics=heartbeat_metrics(properties) if kind == HEARTBEAT else None, metrics_key=name,
        license_id=loose_text(license_.get("id") or properties.get("license_id")),
        license_type=loose_text(license_.get("type")),
        properties=stored,
        consent=has_consent(properties, mapping(message.get("traits"), "traits")),
        # The install funnel is keyed by the installer's anonymous id (Appsmith), else a non-IP user id.
        install_id=(anonymous_id or ("" if is_ip_address(user_id) else user_id)) if kind == INSTALL else "",
        error=loose_text(first(properties, ERROR_KEYS)) if step == "failed" else "",
        ip=ip_of(*(properties.get(key) for key in IP_FIELDS), context.get("ip"), user_id)
        if kind in (HEARTBEAT, INSTALL) else "",
    )


def _os_name(value: Any) -> str:
    if isinstance(value, dict):
        return loose_text(value.get("name") or value.get("type"))
    return loose_text(value)
