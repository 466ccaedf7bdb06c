"""OpenAPI description of the ingest endpoints, read by drf-spectacular from the views themselves.

`IngestView` is one class configured per URL (protocol, answer style, Segment's default type), so
`IngestSchema` documents each operation from that configuration: the request body of its
protocol (with real senders' bodies as examples, `openapi_examples.py`), its answer, the JSON error
shape of every refusal, the ingest key's places (`IngestKeyScheme`) and, for signed answers, the
signature and nonce headers. The component schemas are declared here once and registered with
drf-spectacular's registry, so the staff API and ingest share one `/api/schema/`.
"""

import copy
from typing import Any, Protocol, cast

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.hooks import postprocess_schema_enums
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import ComponentRegistry, ResolvedComponent
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiRequest, OpenApiResponse

from apps.ingest import openapi_examples as examples
from apps.ingest.envelope import DEVELOPMENT_CONTEXT, INSTALL_STEPS, KINDS
from apps.ingest.protocols.hasura import CLI_TOPICS, CONSOLE_TOPICS, SERVER_TOPICS, TEST_SUFFIX
from apps.ingest.protocols.segment import MESSAGE_TYPES
from apps.ingest.signing import SIGNED_STYLES
from apps.ingest.signing_openapi import signing_parameters

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

_BODY_NOTE = (" The body is JSON whatever its Content-Type says (`curl -d` sends form, `sendBeacon` text/plain); "
              "a form whose `data` field carries the JSON, plain or base64, is read too (PostHog).")


_ERRORS: dict[int, str] = {
    400: "Invalid JSON, wrong encoding, or no valid record; nothing was stored.",
    401: "Missing or unknown ingest key.",
    413: "Body larger than the limit once decompressed, or more records than one request may carry "
           "(docs/integrations.md, Limits).",
}



_BODY_NOTE = (" The body is JSON whatever its Content-Type says (`curl -d` sends form, `sendBeacon` text/plain); "
              "a form whose `data` field carries the JSON, plain or base64, is read too (PostHog).")
_FORM: dict[str, Any] = {"type": "object", "required": ["data"], "properties": {"data": {
    "type": "string", "minLength": 1, "description": "The JSON body, plain or base64."}}}
_UNAVAILABLE = ("Database unavailable: nothing was stored; retry after the given seconds (a write that did not "
                "finish in time may still be stored: a retry is stored once).")
_NATIVE_ANSWER: dict[str, Any] = {"allOf": [_ref("IngestCounts"), {
    "type": "object", "description": "With heartbeats: the two-way answer for their instance; for several "
                                      "instances, for the batch as a whole (see `instances`).",
    "properties": TWO_WAY_PROPERTIES}]}
_SEGMENT_ANSWER: dict[str, Any] = {"type": "object", "required": ["success"], "properties": {
    "success": {"type": "boolean", "enum": [True]},
    "errors": {"type": "array", "items": _ref("IngestRecordError")}, "errors_omitted": _OMITTED}}
_POSTHOG_ANSWER: dict[str, Any] = {"type": "object", "required": ["status"], "properties": {
    "status": {"type": "integer", "enum": [1]}, "errors": {"type": "array", "items": _ref("IngestRecordError")},
    "errors_omitted": _OMITTED}}
_PRODUCT_REQUESTS = {"hasura": ("HasuraPayload", examples.HASURA), "flowfuse": ("FlowFusePayload", examples.FLOWFUSE),
                     "wasp": ("WaspPayload", examples.WASP)}


class IngestKeyScheme(OpenApiAuthenticationExtension):
    """The places a key may be sent besides the body (`writeKey`, `api_key`, `token`) and the URL path."""

    target_class = "apps.ingest.auth.IngestKeyAuthentication"
    name = ["ingestKeyBasic", "ingestKeyHeader", "ingestKeyQuery"]

    def get_security_definition(self, auto_schema: AutoSchema) -> list[dict[str, Any]]:
        return [
            {"type": "http", "scheme": "basic", "description": "Ingest key as the username."},
            {"type": "apiKey", "in": "header", "name": "X-Telemetry-Key"},
            {"type": "apiKey", "in": "query", "name": "key"},
        ]

    def get_security_requirement(self, auto_schema: AutoSchema) -> list[dict[str, list[Any]]]:
        return [{name: []} for name in self.name]


class _Configured(Protocol):
    """What `IngestView.as_view(...)` configures per URL (the view module imports this one)."""

    protocol: str
    style: str
    default_type: str | None


class IngestSchema(AutoSchema):
    """Documents an `IngestView` operation from its protocol, style and path."""

    @property
    def _keyed(self) -> bool:
        return "{key}" in self.path

    @property
    def _config(self) -> _Configured:
        return cast(_Configured, self.view)

    def get_operation(self, path: str, path_regex: str, path_prefix: str, method: str,
                      registry: ComponentRegistry) -> dict[str, Any] | None:
        for name, schema in SCHEMAS.items():
            registry.register_on_missing(ResolvedComponent(name=name, type=ResolvedComponent.SCHEMA, object=name,
                                                           schema=copy.deepcopy(schema)))
        return super().get_operation(path, path_regex, path_prefix, method, registry)

    def get_operation_id(self) -> str:
        return "ingest_" + "_".join(part.strip("{}") for part in self.path.strip("/").split("/") if part)

    def get_tags(self) -> list[str]:
        return {"segment": ["ingest-segment"], "posthog": ["ingest-posthog"]}.get(self._config.style, ["ingest"])

    def get_summary(self) -> str:
        style, protocol = self._config.style, self._config.protocol
        if style == "native":
            return "Native ingest: heartbeats, install steps and events"
        if style == "segment":
            return f"Segment HTTP Tracking API: {self._config.default_type or 'batch'}"
        if style == "posthog":
            return f"PostHog capture API: {self.path}"
        return f"{protocol.title()} telemetry as the product sends it" + (" (key in the URL)" if self._keyed else "")

    def get_description(self) -> str:  # type: ignore[override]
        style, protocol = self._config.style, self._config.protocol
        if style == "native":
            text = ("One record, a list, or `{batch, sent_at}`. Valid records are stored, invalid ones reported by "
                    "index; heartbeats get the two-way answer.")
        elif style == "segment":
            text = "Key as the Basic username (empty password), `?key=`, or `writeKey` in the body."
        elif style == "posthog":
            text = ("Also served without the trailing slash. One event, a list, or `{batch}`; the key as "
                    "`api_key`/`token` in the body or on each event.")
        else:
            text = f"{protocol.title()}'s payloads, unchanged." + (
                " For senders whose payload carries no key (FlowFuse): configure this URL." if self._keyed else "")
        return text + _BODY_NOTE

    def get_auth(self) -> list[dict[str, list[Any]]]:
        if self._keyed:
            return [{}]
        return [*super().get_auth(), {}]  # `{}`: the key may be in the body instead

    def get_override_parameters(self) -> list[Any]:
        parameters = [OpenApiParameter("Retry-After", OpenApiTypes.INT, OpenApiParameter.HEADER, response=[503],
                                       description="Seconds to wait before retrying.")]
        if self._keyed:
            parameters.append(OpenApiParameter("key", str, OpenApiParameter.PATH, required=True,
                                               description="The product's ingest key, for senders that cannot send "
                                                           "one."))
        if self._config.style in SIGNED_STYLES:
            parameters += signing_parameters()
        return parameters

    def _request(self) -> tuple[dict[str, Any], dict[str, Any]]:
        style = self._config.style
        if style == "native":
            return {"oneOf": [_ref("NativeRecord"), _ref("NativeBatch")]}, examples.NATIVE
        if style == "segment":
            if self._config.default_type is None:
                return _ref("SegmentBatch"), examples.SEGMENT_BATCH
            return _ref("SegmentMessage"), examples.SEGMENT[self._config.default_type]
        if style == "posthog":
            return {"oneOf": [_ref("PostHogEvent"), _ref("PostHogBatch")]}, examples.POSTHOG_CAPTURE
        name, shown = _PRODUCT_REQUESTS[self._config.protocol]
        return _ref(name), shown

    def get_request_serializer(self) -> dict[str, OpenApiRequest]:  # type: ignore[override]
        schema, shown = self._request()
        json_examples = [OpenApiExample(name, value=example["value"], summary=example["summary"], request_only=True,
                                        media_type="application/json") for name, example in shown.items()]
        return {"application/json": OpenApiRequest(schema, examples=json_examples),
                "text/plain": OpenApiRequest(schema),
                "application/x-www-form-urlencoded": OpenApiRequest(_FORM)}

    def _get_request_body(self, direction: str = "request") -> dict[str, Any] | None:
        body = super()._get_request_body(direction)
        if body is not None:
            body["required"] = True  # an empty body is refused (400 invalid_json)
        return body

    def get_response_serializers(self) -> dict[int, OpenApiResponse]:  # type: ignore[override]
        style = self._config.style
        if style == "segment":
            answer, text = _SEGMENT_ANSWER, "Stored (invalid messages, if any, listed by index)."
        elif style == "posthog":
            answer, text = _POSTHOG_ANSWER, "Stored (invalid events, if any, listed by index)."
        elif style == "native":
            answer, text = _NATIVE_ANSWER, "Counts, per-record errors and, for heartbeats, the two-way answer."
        else:
            answer, text = _ref("ProductIngestAnswer"), "Counts, per-record errors and the two-way answer."
        error = _ref("IngestError")
        return {200: OpenApiResponse(answer, description=text),
                **{status: OpenApiResponse(error, description=why) for status, why in _ERRORS.items()},
                503: OpenApiResponse(error, description=_UNAVAILABLE)}


def enums_outside_ingest(result: dict[str, Any], generator: Any, **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular's enum hook for the staff API's serializers, leaving the ingest schemas' enums inline.

    The hook names each choice set by its field (`type`, `status`…) across all components; the
    wire formats' own words (a native record's `type`, a Hasura `topic`) read best where they are.
    """
    schemas = result.get("components", {}).get("schemas", {})
    ingest = {name: schemas.pop(name) for name in SCHEMAS if name in schemas}
    result = postprocess_schema_enums(result, generator, **kwargs)
    result["components"]["schemas"].update(ingest)
    result["components"]["schemas"] = dict(sorted(result["components"]["schemas"].items()))
    return result
