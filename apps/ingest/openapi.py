"""OpenAPI description of the ingest endpoints.

Ingest views are plain Django views (no DRF on the hot path), so drf-spectacular cannot see them;
this post-processing hook adds their paths, request bodies and answers to the generated schema.
"""

from typing import Any

from apps.ingest import openapi_examples as examples
from apps.ingest.envelope import DEVELOPMENT_CONTEXT, INSTALL_STEPS, KINDS
from apps.ingest.protocols.hasura import CLI_TOPICS, CONSOLE_TOPICS, SERVER_TOPICS, TEST_SUFFIX
from apps.ingest.protocols.segment import MESSAGE_TYPES
from apps.ingest.signing_openapi import add_signing_docs

_REF = "#/components/schemas/"
_OBJECT = {"type": "object", "additionalProperties": True}
_OMITTED = {"type": "integer", "description": "Record errors left out of `errors` (only beyond the first 100)."}
_TIME = {"oneOf": [{"type": "string", "format": "date-time"}, {"type": "number"}],
         "description": "ISO 8601, or epoch seconds or milliseconds."}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": _REF + name}


TWO_WAY_PROPERTIES: dict[str, Any] = {
    "collect": {"type": "string", "enum": ["full", "heartbeat", "off"],
                "description": "The instance's collection level: what it should keep sending. For a batch of "
                               "several instances: the strictest of their levels."},
    "latest_version": {"type": "string"},
    "outdated": {"type": "boolean", "description": "The instance's version is older than latest_version. For a "
                                                   "batch of several instances: true if any of them is."},
    "notices": {"type": "array", "items": _ref("IngestNotice"),
                "description": "Notices whose version range contains the instance's version. For a batch of "
                               "several instances: those that apply to any of them, each once."},
    "next_ping_in": {"type": "integer", "description": "Seconds until the next heartbeat is expected."}}


SCHEMAS: dict[str, dict[str, Any]] = {
    "IngestError": {"type": "object", "required": ["code", "message"], "properties": {
        "code": {"type": "string"}, "message": {"type": "string"},
        "details": {"type": "array", "items": _ref("IngestRecordError")}}},
    "IngestRecordError": {"type": "object", "required": ["index", "code", "message"], "properties": {
        "index": {"type": "integer", "description": "Position of the record in the request."},
        "code": {"type": "string"}, "message": {"type": "string"}}},
    "IngestNotice": {"type": "object", "required": ["id", "level", "title", "message", "url"], "properties": {
        "id": {"type": "integer"}, "level": {"type": "string", "enum": ["info", "warning", "security", "critical"]},
        "title": {"type": "string"}, "message": {"type": "string"}, "url": {"type": "string"}}},
    "TwoWayAnswer": {"type": "object", "required": ["collect", "latest_version", "outdated", "notices", "next_ping_in"],
                     "properties": TWO_WAY_PROPERTIES},
    "IngestCounts": {"type": "object", "required": ["accepted", "duplicates", "dropped", "errors"], "properties": {
        "accepted": {"type": "integer", "description": "Records stored by this request."},
        "duplicates": {"type": "integer", "description": "Records whose message id was already stored."},
        "dropped": {"type": "integer",
                    "description": "Records refused by the instance's collection level, or of erased instances."},
        "errors": {"type": "array", "items": _ref("IngestRecordError"),
                   "description": "Invalid records, by index (the first 100); the valid ones were stored."},
        "errors_omitted": _OMITTED,
        "instances": {"type": "object", "additionalProperties": _ref("TwoWayAnswer"),
                      "description": "One answer per instance id when a batch carries several instances' "
                                     "heartbeats; the top level then answers for the batch as a whole."}}},
    # An empty request (`[]`) has no instance to answer for: counts only.
    "ProductIngestAnswer": {"allOf": [_ref("IngestCounts"), {
        "type": "object", "description": "The two-way answer for the instance the request names (absent when "
                                         "the request holds no record).",
        "properties": TWO_WAY_PROPERTIES}]},
    "NativeRecord": {"type": "object", "properties": {
        "type": {"type": "string", "enum": list(KINDS), "default": "heartbeat",
                 "description": "Default: heartbeat, or event when `event` is given. `opt_out`: an instance "
                                "whose telemetry is off, counted per day and version; only `version`, `os`, "
                                "`message_id` and `timestamp` are read, nothing else is stored."},
        "instance_id": {"type": "string", "maxLength": 200, "description": "Required for heartbeats."},
        "message_id": {"type": "string", "maxLength": 200,
                       "description": "Stored at most once per product; derived from the content when absent."},
        "event": {"type": "string", "maxLength": 200, "description": "Required for events."},
        "timestamp": _TIME,
        "version": {"type": "string", "maxLength": 64}, "edition": {"type": "string", "maxLength": 64},
        "os": {"type": "string", "maxLength": 64}, "arch": {"type": "string", "maxLength": 32},
        "context": {"type": "string", "maxLength": 64, "description": "CI system or run context."},
        "metrics": {**_OBJECT, "description": "Latest metrics, kept per heartbeat event name."},
        "license": {"type": "object", "properties": {"id": {"type": "string"}, "type": {"type": "string"}}},
        "properties": _OBJECT,
        "install_id": {"type": "string", "maxLength": 200, "description": "Install runs: the run's id."},
        "step": {"type": "string", "enum": list(INSTALL_STEPS), "description": "Install runs: the step reached."},
        "error": {"type": "string", "description": "Install runs: why it failed."},
        "ipAddress": {"type": "string", "description": "Heartbeats: the instance's own address when another host "
                      "sends for it; its country is kept (Instance.country), the address only as a keyed hash."}}},
    "NativeBatch": {"type": "object", "required": ["batch"], "properties": {
        "batch": {"type": "array", "items": _ref("NativeRecord")},
        "sent_at": {**_TIME, "description": "The sender's clock when sending: corrects clock skew."}}},
    "SegmentMessage": {"type": "object", "properties": {
        "type": {"type": "string", "enum": list(MESSAGE_TYPES)}, "event": {"type": "string"},
        "messageId": {"type": "string", "description": "Absent (Appsmith's server): derived from the content."},
        "userId": {"type": "string", "description": "A heartbeat without `instanceId` names its instance here "
                   "(unless it is an IP address: then it is the sender's address, hashed)."},
        "anonymousId": {"type": "string"},
        "timestamp": _TIME, "originalTimestamp": _TIME, "sentAt": _TIME,
        "properties": {**_OBJECT, "description": "A heartbeat's `metrics` object, or else its whole-number "
                       "properties (not `$…`/`mp_…`), become the instance's metrics under the event name."},
        "data": {**_OBJECT, "description": "Read as `properties` when those are absent (Appsmith's installer)."},
        "version": {"type": "string", "description": "Beside the event (Appsmith's `instance_stats`)."},
        "edition": {"type": "string", "description": "Beside the event (Appsmith's `instance_stats`)."},
        "traits": _OBJECT, "context": _OBJECT, "integrations": _OBJECT, "writeKey": {"type": "string"}}},
    "SegmentBatch": {"type": "object", "required": ["batch"], "properties": {
        "batch": {"type": "array", "items": _ref("SegmentMessage")}, "context": _OBJECT, "integrations": _OBJECT,
        "sentAt": _TIME, "writeKey": {"type": "string"}}},
    "PostHogEvent": {"type": "object", "required": ["event"], "properties": {
        "event": {"type": "string"},
        "distinct_id": {"type": "string", "description": "Here or inside `properties` (Wasp's CLI)."},
        "uuid": {"type": "string"}, "type": {"type": "string", "description": "`capture` (ignored)."},
        "timestamp": _TIME, "offset": {"type": "number"}, "properties": _OBJECT, "api_key": {"type": "string"},
        "token": {"type": "string"}}},
    "PostHogBatch": {"type": "object", "required": ["batch"], "properties": {
        "batch": {"type": "array", "items": _ref("PostHogEvent")}, "api_key": {"type": "string"},
        "sent_at": _TIME, "sentAt": _TIME}},
    "HasuraTelemetry": {"type": "object", "required": ["topic", "data"], "properties": {
        "topic": {"type": "string", "enum": [t + suffix for t in (*SERVER_TOPICS, *CLI_TOPICS, *CONSOLE_TOPICS)
                                             for suffix in ("", TEST_SUFFIX)],
                  "description": f"`{TEST_SUFFIX}`: a development build; its instance's context is "
                                 f"`{DEVELOPMENT_CONTEXT}` and production counts leave it out."},
        "data": {**_OBJECT, "description": "server_metrics_v2: `metadata_db_uid`, `instance_uid`, `hasura_version`, "
                 "`ci`, `source_metadata` {db_uid, backend_type, db_kind, db_version}, `metrics` (tables, views, "
                 "relationships, permissions, event_triggers, functions, remote_schemas, service_timings, actions, "
                 "native_queries, stored_procedures, logical_models), `experimental_features`. server: `db_uid`, "
                 "`instance_uid`, `version`, `ci`, `metrics`. cli: `uuid`, `server_uuid`, `execution_id`, "
                 "`os_platform`, `os_arch`, `version`, `server_version`, `command`, `is_error`, `payload`."}}},
    "HasuraPayload": {"oneOf": [_ref("HasuraTelemetry"), {**_OBJECT, "description": (
        "A documented sample row, unwrapped: server (`instance_uid`, `version`, `metrics`), Enterprise server, "
        "data source and usage metrics (`instance_uid`, `hasura_version`, `license_jti`, `metrics`), Console "
        "error (`event_type`, `server_uuid`), CLI execution (`execution_id`, `command`, `server_uuid`).")}],
        "description": "One payload or a list. Enterprise only with a licence (`license_jti`)."},
    "FlowFusePayload": {"type": "object", "required": ["instanceId"], "properties": {
        "instanceId": {"type": "string"}, "os": _OBJECT, "env": _OBJECT,
        "platform": {**_OBJECT, "description": "`counts` and `config` become the instance's metrics; `license` "
                     "{id, type} its licence and edition (CE without one)."}}},
    "WaspPayload": {**_OBJECT, "description": "Wasp's CLI ping (`distinct_id`, `project_hash`, `is_build`, "
                    "`deploy_cmd_args`, `wasp_version`, `os`, `context`), bare or as the CLI posts it to PostHog "
                    "(`{api_key, event: \"cli\", properties}`); installer and npm postinstall pings "
                    "(`{api_key, type, event, distinct_id, properties: {os, context}}`) are finished install runs."},
}

_ERRORS = {
    "400": "Invalid JSON, wrong encoding, or no valid record; nothing was stored.",
    "401": "Missing or unknown ingest key.",
    "413": "Body larger than the limit once decompressed, or more records than one request may carry "
           "(docs/integrations.md, Limits).",
}


_BODY_NOTE = (" The body is JSON whatever its Content-Type says (`curl -d` sends form, `sendBeacon` text/plain); "
              "a form whose `data` field carries the JSON, plain or base64, is read too (PostHog).")


def _operation(*, tag: str, summary: str, description: str, request: list[str], answer: dict[str, Any],
               answer_description: str, request_examples: dict[str, Any] | None = None,
               key_in_path: bool = False) -> dict[str, Any]:
    schema = _ref(request[0]) if len(request) == 1 else {"oneOf": [_ref(name) for name in request]}
    json_body: dict[str, Any] = {"schema": schema}
    if request_examples:
        json_body["examples"] = request_examples
    responses: dict[str, Any] = {"200": {"description": answer_description,
                                         "content": {"application/json": {"schema": answer}}}}
    for status, text in _ERRORS.items():
        responses[status] = {"description": text, "content": {"application/json": {"schema": _ref("IngestError")}}}
    responses["503"] = {"description": "Database unavailable: nothing was stored; retry after the given seconds.",
                        "headers": {"Retry-After": {"schema": {"type": "integer"}}},
                        "content": {"application/json": {"schema": _ref("IngestError")}}}
    operation: dict[str, Any] = {
        "tags": [tag], "summary": summary, "description": description + _BODY_NOTE, "operationId": "",
        "security": [{"ingestKeyBasic": []}, {"ingestKeyHeader": []}, {"ingestKeyQuery": []}, {}],
        "requestBody": {"required": True, "content": {
            "application/json": json_body, "text/plain": {"schema": schema},
            "application/x-www-form-urlencoded": {"schema": {"type": "object", "properties": {"data": {
                "type": "string", "description": "The JSON body, plain or base64."}}}}}},
        "responses": responses,
    }
    if key_in_path:
        operation["parameters"] = [{"name": "key", "in": "path", "required": True, "schema": {"type": "string"},
                                    "description": "The product's ingest key, for senders that cannot send one."}]
        operation["security"] = [{}]
    return {"post": operation}


def _paths() -> dict[str, dict[str, Any]]:
    native_answer = {"allOf": [_ref("IngestCounts"), {
        "type": "object", "description": "With heartbeats: the two-way answer for their instance; for "
                                          "several instances, for the batch as a whole (see `instances`).",
        "properties": TWO_WAY_PROPERTIES}]}
    paths = {"/api/v1/ingest": _operation(
        tag="ingest", summary="Native ingest: heartbeats, install steps and events",
        description="One record, a list, or `{batch, sent_at}`. Valid records are stored, invalid ones "
                    "reported by index; heartbeats get the two-way answer.",
        request=["NativeRecord", "NativeBatch"], answer=native_answer,
        answer_description="Counts, per-record errors and, for heartbeats, the two-way answer.")}
    for product, schema, shown in (("hasura", "HasuraPayload", examples.HASURA),
                                   ("flowfuse", "FlowFusePayload", examples.FLOWFUSE),
                                   ("wasp", "WaspPayload", examples.WASP)):
        for suffix, keyed in (("", False), ("/{key}", True)):
            paths[f"/api/v1/ingest/{product}{suffix}"] = _operation(
                tag="ingest", summary=f"{product.title()} telemetry as the product sends it"
                + (" (key in the URL)" if keyed else ""), request=[schema], request_examples=shown,
                description=f"{product.title()}'s payloads, unchanged." + (
                    " For senders whose payload carries no key (FlowFuse): configure this URL." if keyed else ""),
                answer=_ref("ProductIngestAnswer"), key_in_path=keyed,
                answer_description="Counts, per-record errors and the two-way answer.")
    segment_answer = {"type": "object", "required": ["success"], "properties": {
        "success": {"type": "boolean", "enum": [True]},
        "errors": {"type": "array", "items": _ref("IngestRecordError")}, "errors_omitted": _OMITTED}}
    for path in ("batch", *MESSAGE_TYPES):
        paths[f"/v1/{path}"] = _operation(
            tag="ingest-segment", summary=f"Segment HTTP Tracking API: {path}",
            description="Key as the Basic username (empty password), `?key=`, or `writeKey` in the body.",
            request=["SegmentBatch"] if path == "batch" else ["SegmentMessage"], answer=segment_answer,
            request_examples=examples.SEGMENT_TRACK if path == "track" else None,
            answer_description="Stored (invalid messages, if any, listed by index).")
    posthog_answer = {"type": "object", "required": ["status"], "properties": {
        "status": {"type": "integer", "enum": [1]}, "errors": {"type": "array", "items": _ref("IngestRecordError")},
        "errors_omitted": _OMITTED}}
    for path in ("/batch/", "/capture/", "/e/", "/i/v0/e/"):
        paths[path] = _operation(
            tag="ingest-posthog", summary=f"PostHog capture API: {path}",
            description="Also served without the trailing slash. One event, a list, or `{batch}`; the key as "
                        "`api_key`/`token` in the body or on each event.",
            request=["PostHogEvent", "PostHogBatch"], answer=posthog_answer,
            request_examples=examples.POSTHOG_CAPTURE if path == "/capture/" else None,
            answer_description="Stored (invalid events, if any, listed by index).")
    for path, item in paths.items():
        item["post"]["operationId"] = "ingest_" + "_".join(part.strip("{}") for part in path.strip("/").split("/")
                                                           if part)
    return paths


def add_ingest_paths(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    result.setdefault("paths", {}).update(_paths())
    components = result.setdefault("components", {})
    components.setdefault("schemas", {}).update(SCHEMAS)
    add_signing_docs(result["paths"], components["schemas"])
    components.setdefault("securitySchemes", {}).update({
        "ingestKeyBasic": {"type": "http", "scheme": "basic", "description": "Ingest key as the username."},
        "ingestKeyHeader": {"type": "apiKey", "in": "header", "name": "X-Telemetry-Key"},
        "ingestKeyQuery": {"type": "apiKey", "in": "query", "name": "key"},
    })
    return result
