"""Wasp CLI telemetry as documented, posted as-is to `/api/v1/ingest/wasp` (bare, or wrapped the way
the CLI sends it to PostHog: `{"event": "cli" | "install", "properties": {...}}`).

A Wasp "instance" is one CLI installation, named by its random `distinct_id`: CLI pings are its
heartbeats (`wasp.cli`: version `wasp_version`, `os`, `context`; `project_hash`, `is_build` and the
allow-listed `deploy_cmd_args` stay in the event). The install-script ping (`{distinct_id, os}`)
is a finished install run (`wasp.install`, step succeeded) keyed by its `distinct_id`.
"""

from datetime import datetime
from typing import Any, TypedDict

from apps.ingest.envelope import HEARTBEAT, INSTALL, Envelope, EventRules, Parsed, RecordInvalid

from .common import batch_items, mapping, read_records, text, time_of, without

_CLI_FIELDS = ("wasp_version", "project_hash", "is_build", "deploy_cmd_args")


class _Common(TypedDict):
    """The envelope fields an install ping and a CLI ping share."""

    message_id: str
    client_time: datetime | None
    os: str
    properties: dict[str, Any]


def parse(body: Any, *, rules: EventRules) -> Parsed:
    items, _ = batch_items(body)
    return read_records(items, _record)


def _record(record: dict[str, Any]) -> Envelope:
    event = text(record.get("event"), "event") if "properties" in record else ""
    payload = mapping(record.get("properties"), "properties") if "properties" in record else record
    distinct_id = text(payload.get("distinct_id") or record.get("distinct_id"), "distinct_id")
    if not distinct_id:
        raise RecordInvalid("missing_field", "`distinct_id` is required.")
    properties = without(payload, ("distinct_id", "token", "api_key", "timestamp"))
    common: _Common = {"message_id": text(record.get("uuid"), "uuid"),
              "client_time": time_of(record.get("timestamp") or payload.get("timestamp"), "timestamp"),
              "os": text(payload.get("os"), "os"), "properties": properties}
    if event == "install" or (event != "cli" and not any(key in payload for key in _CLI_FIELDS)):
        return Envelope(kind=INSTALL, name="wasp.install", install_id=distinct_id, step="succeeded", **common)
    return Envelope(kind=HEARTBEAT, name="wasp.cli", instance_id=distinct_id, install_id=distinct_id,
                    version=text(payload.get("wasp_version"), "wasp_version"),
                    context=text(payload.get("context"), "context"), **common)
