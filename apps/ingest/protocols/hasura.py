"""Hasura GraphQL Engine telemetry, posted as-is to `/api/v1/ingest/hasura`.

What the server and CLI really post (graphql-engine `Hasura.Server.Telemetry`, `.Types`,
`cli/telemetry/telemetry.go`) is wrapped: `{"topic": ..., "data": {...}}`.
- `server_metrics_v2` (v2.x): one payload per data source, `data` = `{metadata_db_uid,
  instance_uid, hasura_version, ci, source_metadata: {db_uid, backend_type, db_kind,
  db_version}, metrics:
  {tables, views, enum_tables, relationships, permissions, event_triggers, functions,
  remote_schemas, service_timings, actions, native_queries, logical_models},
  experimental_features}`; service timings, remote schemas and actions ride only with the
  default source (the one whose `source_metadata` has a `db_uid`).
- `server` (v1.x): `data` = `{db_uid, instance_uid, version, ci, metrics}`.
- `cli`: `data` = `{uuid, server_uuid, execution_id, os_platform, os_arch, version,
  server_version, command, is_error, payload}`.
A `_test` suffix marks a development build: stored, its instance's `context` is `development`,
and production counts (rollups, dashboard) leave it out.

The documented sample rows are read unwrapped too: the server row (`instance_uid`, `version`,
`db_uid`, `ci`, `metrics`); Enterprise server, data source and usage metrics (`license_jti`,
`sample_uid`, `hasura_version`, `metrics`); Console runtime errors (`event_type`, `server_uuid`);
CLI rows (`execution_id`, `command`, `server_uuid`).

Servers are heartbeats `hasura.server` (`hasura.ee_server`, `hasura.data_source`, `hasura.usage`
for Enterprise telemetry), each kind of metrics under its own key: `server` (the default source),
`source.<db_kind>` (other sources), `ee_server`, `data_source.<backend>`, `usage`. An instance is
Enterprise only when a payload carries its licence (`license_jti`), never because of field names.
Console and CLI events link to the server they talk to when that instance exists; they never create one.
"""

from typing import Any

from apps.ingest.envelope import DEVELOPMENT_CONTEXT, EVENT, HEARTBEAT, Envelope, EventRules, Parsed, RecordInvalid

from .common import batch_items, loose_text, mapping, read_records, text, time_of, without

SERVER_TOPICS = ("server_metrics_v2", "server")
CLI_TOPICS = ("cli",)
CONSOLE_TOPICS = ("console",)
TEST_SUFFIX = "_test"


def parse(body: Any, *, rules: EventRules) -> Parsed:
    items, _ = batch_items(body)
    return read_records(items, _record)


def _record(payload: dict[str, Any]) -> Envelope:
    if "topic" in payload and isinstance(payload.get("data"), dict):
        return _wrapped(payload)
    if "instance_uid" in payload:
        return _server(payload)
    if "event_type" in payload or "console_mode" in payload:
        return _console(payload, topic="")
    if "execution_id" in payload or "command" in payload:
        return _cli(payload, topic="")
    raise RecordInvalid("unknown_payload", "Not a Hasura server, CLI or Console payload "
                        "(`{\"topic\", \"data\"}`, or a documented sample row).")


def _wrapped(payload: dict[str, Any]) -> Envelope:
    topic = text(payload.get("topic"), "topic")
    data: dict[str, Any] = payload["data"]
    base = topic.removesuffix(TEST_SUFFIX)
    development = topic.endswith(TEST_SUFFIX)
    if base in SERVER_TOPICS:
        if "instance_uid" not in data:
            raise RecordInvalid("missing_field", "`data.instance_uid` is required.")
        return _server(data, topic=topic, development=development)
    if base in CLI_TOPICS:
        return _cli(data, topic=topic)
    if base in CONSOLE_TOPICS:
        return _console(data, topic=topic)
    raise RecordInvalid("unknown_topic", f"Unknown Hasura telemetry topic {topic!r}: expected one of "
                        f"{', '.join(SERVER_TOPICS + CLI_TOPICS + CONSOLE_TOPICS)} (optionally with `_test`).")


def _server(payload: dict[str, Any], *, topic: str = "", development: bool = False) -> Envelope:
    metrics = mapping(payload.get("metrics"), "metrics")
    kind = _server_kind(payload, metrics)
    license_id = text(payload.get("license_jti"), "license_jti")
    if kind in ("server", "source"):
        source = mapping(payload.get("source_metadata"), "source_metadata")
        kept = {**metrics}
        if source:
            kept["source_metadata"] = source
        if "experimental_features" in payload:
            kept["experimental_features"] = payload["experimental_features"]
        backend = loose_text(source.get("backend_type") or source.get("db_kind")) or "unknown"
        metrics_key = "server" if kind == "server" else f"source.{backend}"
        metrics = kept
    else:
        metrics_key = kind
    properties = without(payload, ("instance_uid", "timestamp"))
    if topic:
        properties["topic"] = topic
    return Envelope(
        kind=HEARTBEAT, name="hasura.server" if kind == "source" else f"hasura.{kind.split('.')[0]}",
        instance_id=text(payload.get("instance_uid"), "instance_uid"),
        client_time=time_of(payload.get("timestamp"), "timestamp"),
        version=text(payload.get("hasura_version") or payload.get("version"), "version"),
        edition="ee" if license_id else "",
        context=DEVELOPMENT_CONTEXT if development else loose_text(payload.get("ci")),
        metrics=metrics or None, metrics_key=metrics_key,
        license_id=license_id,
        properties=properties,
    )


def _server_kind(payload: dict[str, Any], metrics: dict[str, Any]) -> str:
    """`server` / `source` (a community or v2 server's ping) or the kind of Enterprise telemetry."""
    if "source_metadata" in payload:
        source = mapping(payload.get("source_metadata"), "source_metadata")
        # Only the default source's payload names the metadata database; the others are extra sources.
        return "server" if source.get("db_uid") or metrics.get("service_timings") else "source"
    if "backend_type" in metrics:
        return f"data_source.{text(metrics.get('backend_type'), 'backend_type') or 'unknown'}"
    if metrics and all(isinstance(value, list) for value in metrics.values()):
        return "usage"
    if "sample_uid" not in payload and "license_jti" not in payload:
        return "server"
    return "ee_server"


def _console(payload: dict[str, Any], *, topic: str) -> Envelope:
    properties = without(payload, ("event_type",))
    if topic:
        properties["topic"] = topic
    return Envelope(kind=EVENT, name=text(payload.get("event_type"), "event_type") or "hasura.console",
                    instance_id=text(payload.get("server_uuid"), "server_uuid"),
                    client_time=time_of(payload.get("timestamp"), "timestamp"),
                    version=text(payload.get("server_version"), "server_version"),
                    properties=properties)


def _cli(payload: dict[str, Any], *, topic: str) -> Envelope:
    properties = without(payload, ("command", "execution_id", "timestamp"))
    if topic:
        properties["topic"] = topic
    return Envelope(kind=EVENT, name=text(payload.get("command"), "command") or "hasura.cli",
                    instance_id=text(payload.get("server_uuid"), "server_uuid"),
                    message_id=text(payload.get("execution_id"), "execution_id"),
                    client_time=time_of(payload.get("timestamp"), "timestamp"),
                    version=text(payload.get("version"), "version"),
                    os=text(payload.get("os_platform"), "os_platform"),
                    arch=text(payload.get("os_arch"), "os_arch"),
                    properties=properties)
