"""Hasura GraphQL Engine telemetry as documented, posted as-is to `/api/v1/ingest/hasura`.

Six payloads, told apart by their fields:
- server (`instance_uid`, `version`, `db_uid`, `ci`, `metrics`): heartbeat `hasura.server`;
- Enterprise server, data source and usage metrics (`instance_uid`, `hasura_version`,
  `license_jti`, `metrics`): heartbeats `hasura.ee_server`, `hasura.data_source` (metrics have
  `backend_type`) and `hasura.usage` (metrics are Prometheus-style series: lists of samples);
- Console runtime errors (`event_type`, `server_uuid`): events named by `event_type`;
- CLI executions (`execution_id`, `command`, `server_uuid`): events named by the command.
Metrics of each heartbeat kind live under their own key (`server`, `ee_server`,
`data_source.<backend>`, `usage`). Console and CLI events link to the server they talk to when
that instance exists; they never create one.
"""

from typing import Any

from apps.ingest.envelope import EVENT, HEARTBEAT, Envelope, EventRules, Parsed, RecordInvalid

from .common import batch_items, mapping, read_records, text, time_of, without


def parse(body: Any, *, rules: EventRules) -> Parsed:
    items, _ = batch_items(body)
    return read_records(items, _record)


def _record(payload: dict[str, Any]) -> Envelope:
    if "instance_uid" in payload:
        return _server(payload)
    if "event_type" in payload or "console_mode" in payload:
        return Envelope(kind=EVENT, name=text(payload.get("event_type"), "event_type") or "hasura.console",
                        instance_id=text(payload.get("server_uuid"), "server_uuid"),
                        version=text(payload.get("server_version"), "server_version"),
                        properties=without(payload, ("event_type",)))
    if "execution_id" in payload or "command" in payload:
        return Envelope(kind=EVENT, name=text(payload.get("command"), "command") or "hasura.cli",
                        instance_id=text(payload.get("server_uuid"), "server_uuid"),
                        message_id=text(payload.get("execution_id"), "execution_id"),
                        client_time=time_of(payload.get("timestamp"), "timestamp"),
                        version=text(payload.get("version"), "version"),
                        os=text(payload.get("os_platform"), "os_platform"),
                        arch=text(payload.get("os_arch"), "os_arch"),
                        properties=without(payload, ("command", "execution_id", "timestamp")))
    raise RecordInvalid("unknown_payload",
                        "Not a Hasura server, Enterprise server, data source, usage metrics, Console or CLI payload.")


def _server_kind(payload: dict[str, Any], metrics: dict[str, Any]) -> str:
    if not any(key in payload for key in ("license_jti", "hasura_version", "metadata_db_uid", "sample_uid")):
        return "server"
    if "backend_type" in metrics:
        return f"data_source.{text(metrics.get('backend_type'), 'backend_type') or 'unknown'}"
    if metrics and all(isinstance(value, list) for value in metrics.values()):
        return "usage"
    return "ee_server"


def _server(payload: dict[str, Any]) -> Envelope:
    metrics = mapping(payload.get("metrics"), "metrics")
    kind = _server_kind(payload, metrics)
    enterprise = kind != "server"
    return Envelope(
        kind=HEARTBEAT, name=f"hasura.{kind.split('.')[0]}",
        instance_id=text(payload.get("instance_uid"), "instance_uid"),
        client_time=time_of(payload.get("timestamp"), "timestamp"),
        version=text(payload.get("hasura_version" if enterprise else "version"), "version"),
        edition="ee" if enterprise else "",
        context=text(payload.get("ci"), "ci"),
        metrics=metrics or None, metrics_key=kind,
        license_id=text(payload.get("license_jti"), "license_jti"),
        properties=without(payload, ("instance_uid", "timestamp")),
    )
