"""Every refusal: a clear JSON error, the right status, and nothing stored."""

import gzip
import zlib

import orjson
import pytest
from django.db import OperationalError, connection
from django.test import Client, override_settings

from apps.events.models import Event
from apps.instances.models import Instance
from apps.products.models import Product

from .conftest import Post, seed

HEARTBEAT = {"type": "heartbeat", "instance_id": "i-1", "version": "1.0"}
ALL_PATHS = ["/api/v1/ingest", "/api/v1/ingest/hasura", "/api/v1/ingest/flowfuse", "/api/v1/ingest/wasp",
             "/v1/batch", "/v1/track", "/v1/identify", "/v1/page", "/v1/screen", "/v1/group", "/v1/alias",
             "/batch/", "/batch", "/capture/", "/capture", "/e/", "/e", "/i/v0/e/", "/i/v0/e"]


def assert_error(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["code"] == code and isinstance(body["message"], str) and body["message"]


def nothing_stored() -> bool:
    return not Event.objects.exists() and not Instance.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ALL_PATHS)
def test_every_path_refuses_a_missing_or_unknown_key(post: Post, appsmith: Product, path: str) -> None:
    assert_error(post(path, HEARTBEAT, key=None), 401, "missing_key")
    assert_error(post(path, HEARTBEAT, key="tk_not-a-key"), 401, "unknown_key")
    assert_error(post(path, {**HEARTBEAT, "writeKey": "tk_nope", "api_key": "tk_nope"}, key=None), 401, "unknown_key")
    assert nothing_stored()


@pytest.mark.django_db
@pytest.mark.parametrize("path", ALL_PATHS)
def test_every_path_refuses_invalid_json(post: Post, appsmith: Product, path: str) -> None:
    assert_error(post(path, None, key=appsmith.ingest_key, raw=b'{"event": "x",'), 400, "invalid_json")
    assert_error(post(path, None, key=appsmith.ingest_key, raw=b""), 400, "invalid_json")
    assert nothing_stored()


@pytest.mark.django_db
def test_wrong_encodings_are_400(post: Post, appsmith: Product) -> None:
    key = appsmith.ingest_key
    assert_error(post("/api/v1/ingest", None, key=key, raw=b'{"instance_id": "\xff\xfe"}'), 400, "invalid_encoding")
    assert_error(post("/api/v1/ingest", None, key=key, raw=b"not gzip at all", HTTP_CONTENT_ENCODING="gzip"),
                 400, "invalid_encoding")
    truncated = gzip.compress(orjson.dumps(HEARTBEAT))[:-6]
    assert_error(post("/api/v1/ingest", None, key=key, raw=truncated, HTTP_CONTENT_ENCODING="gzip"),
                 400, "invalid_encoding")
    assert_error(post("/api/v1/ingest", HEARTBEAT, key=key, HTTP_CONTENT_ENCODING="br"), 400, "unsupported_encoding")
    assert_error(post("/e/?compression=lz64", HEARTBEAT, key=key), 400, "unsupported_encoding")
    assert nothing_stored()


@pytest.mark.django_db
def test_bodies_that_are_not_the_protocol_are_400(post: Post, appsmith: Product) -> None:
    key = appsmith.ingest_key
    assert_error(post("/api/v1/ingest", "just a string", key=key), 400, "invalid_body")
    assert_error(post("/v1/batch", {"batch": {"not": "a list"}}, key=key), 400, "invalid_body")
    assert_error(post("/api/v1/ingest", {"type": "teleport", "instance_id": "i"}, key=key), 400, "invalid_type")
    assert_error(post("/api/v1/ingest", {"type": "heartbeat"}, key=key), 400, "missing_field")
    assert_error(post("/api/v1/ingest/hasura", {"hello": "world"}, key=key), 400, "unknown_payload")
    assert_error(post("/api/v1/ingest", {**HEARTBEAT, "timestamp": "yesterday-ish"}, key=key), 400,
                 "invalid_timestamp")
    assert_error(post("/api/v1/ingest", {**HEARTBEAT, "version": "v" * 65}, key=key), 400, "invalid_field")
    assert_error(post("/api/v1/ingest", {"batch": [{"type": "heartbeat"}, 7]}, key=key), 400, "invalid_records")
    assert nothing_stored()


@pytest.mark.django_db
@override_settings(TELEMETRY_MAX_BODY_BYTES=2000)
def test_bodies_over_the_limit_are_413_counting_decompressed_bytes(post: Post, appsmith: Product) -> None:
    key = appsmith.ingest_key
    big = {**HEARTBEAT, "properties": {"padding": "x" * 3000}}
    assert_error(post("/api/v1/ingest", big, key=key), 413, "payload_too_large")
    # Small on the wire, large once inflated: the limit counts what it decompresses to.
    assert len(gzip.compress(orjson.dumps(big))) < 2000
    assert_error(post("/api/v1/ingest", big, key=key, gzipped=True), 413, "payload_too_large")
    assert_error(post("/v1/batch", {"batch": [big]}, key=key, gzipped=True), 413, "payload_too_large")
    assert post("/api/v1/ingest", HEARTBEAT, key=key, gzipped=True).status_code == 200


@pytest.mark.django_db
@override_settings(TELEMETRY_MAX_BODY_BYTES=1_048_576)
def test_a_gzip_bomb_is_cut_off(post: Post, appsmith: Product) -> None:
    bomb = zlib.compressobj(9, zlib.DEFLATED, 31)
    data = bomb.compress(b'{"padding": "') + bomb.compress(b"0" * (64 * 1024 * 1024)) + bomb.flush()
    assert len(data) < 100_000  # 64 MiB of zeros in well under 100 kB
    assert_error(post("/api/v1/ingest", None, key=appsmith.ingest_key, raw=data, HTTP_CONTENT_ENCODING="gzip"),
                 413, "payload_too_large")
    assert nothing_stored()


@pytest.mark.django_db
def test_a_batch_stores_valid_records_and_reports_invalid_ones_by_index(post: Post, appsmith: Product) -> None:
    batch = {"batch": [HEARTBEAT, {"type": "heartbeat"}, "nonsense", {"type": "event", "event": "clicked"},
                       {"type": "install", "install_id": "r-1", "step": "teleported"}]}
    response = post("/api/v1/ingest", batch, key=appsmith.ingest_key)
    assert response.status_code == 200
    body = response.json()
    assert (body["accepted"], body["duplicates"], body["dropped"]) == (2, 0, 0)
    assert [(e["index"], e["code"]) for e in body["errors"]] == [
        (1, "missing_field"), (2, "invalid_record"), (4, "invalid_field")]
    assert sorted(Event.objects.values_list("name", flat=True)) == ["clicked", "heartbeat"]

    segment = post("/v1/batch", {"batch": [{"type": "track", "event": "ok", "userId": "u"}, {"type": "track"}]},
                   key=appsmith.ingest_key)
    assert segment.json() == {"success": True, "errors": [
        {"index": 1, "code": "missing_field", "message": "An event name is required."}]}


@pytest.mark.django_db
def test_database_down_is_503_with_retry_after_and_never_2xx(post: Post, appsmith: Product) -> None:
    def database_down(execute, sql, params, many, context):
        raise OperationalError("could not connect to server: Connection refused")

    with connection.execute_wrapper(database_down):
        response = post("/api/v1/ingest", HEARTBEAT, key=appsmith.ingest_key)
        segment = post("/v1/track", seed("appsmith_keepalive"), key=appsmith.ingest_key)
    assert_error(response, 503, "unavailable")
    assert response["Retry-After"] == "30"
    assert_error(segment, 503, "unavailable")
    assert nothing_stored()


@pytest.mark.django_db
def test_a_group_commit_that_does_not_finish_in_time_is_503(post: Post, appsmith: Product,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """The write may still be stored by its group, so the answer asks for a retry without saying nothing was."""
    from apps.ingest import group_commit

    def too_late(write: object) -> None:
        raise group_commit.GroupCommitTimeout("the write was not committed within 25 s")

    monkeypatch.setattr(group_commit, "store", too_late)
    response = post("/api/v1/ingest", HEARTBEAT, key=appsmith.ingest_key)
    assert_error(response, 503, "unavailable")
    assert response["Retry-After"] == "30"
    assert "nothing was stored" not in response.json()["message"]


@pytest.mark.django_db
def test_database_failing_mid_request_stores_nothing_partial(post: Post, appsmith: Product) -> None:
    """The instance upsert succeeds, the event insert fails: the transaction leaves no instance behind."""

    def events_fail(execute, sql, params, many, context):
        if "INSERT INTO events_event" in sql.replace('"', ""):
            raise OperationalError("server closed the connection unexpectedly")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(events_fail):
        assert_error(post("/api/v1/ingest", HEARTBEAT, key=appsmith.ingest_key), 503, "unavailable")
    assert nothing_stored()


@pytest.mark.django_db
def test_csrf_does_not_apply(appsmith: Product) -> None:
    client = Client(enforce_csrf_checks=True)
    response = client.post("/api/v1/ingest", data=orjson.dumps(HEARTBEAT), content_type="application/json",
                           HTTP_X_TELEMETRY_KEY=appsmith.ingest_key)
    assert response.status_code == 200


@pytest.mark.django_db
def test_only_post(client: Client, appsmith: Product) -> None:
    assert_error(client.get("/api/v1/ingest"), 405, "method_not_allowed")
    preflight = client.options("/v1/batch")
    assert preflight.status_code == 204 and preflight["Access-Control-Allow-Origin"] == "*"


def test_nul_characters_are_removed_not_a_server_error(post: Post, appsmith: Product) -> None:
    """PostgreSQL cannot store U+0000 in text or jsonb; a payload carrying one is stored without it."""
    record = {**HEARTBEAT, "event": "ping\u0000", "properties": {"k\u0000": ["v\u0000", {"x": "\u0000"}]}}
    response = post("/api/v1/ingest", record, key=appsmith.ingest_key)
    assert response.status_code == 200, response.content
    event = Event.objects.get()
    assert event.name == "ping"
    assert event.properties == {"k": ["v", {"x": ""}]}


@pytest.mark.django_db
def test_a_throttled_request_is_429_in_the_error_shape(post: Post, appsmith: Product,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Throttles come from TELEMETRY_INGEST_THROTTLE_CLASSES; their refusal is answered like every error."""
    from rest_framework.throttling import BaseThrottle

    from apps.ingest.views import IngestView

    class Closed(BaseThrottle):
        def allow_request(self, request: object, view: object) -> bool:
            return False

        def wait(self) -> float:
            return 7

    monkeypatch.setattr(IngestView, "throttle_classes", [Closed])
    response = post("/api/v1/ingest", HEARTBEAT, key=appsmith.ingest_key)
    assert_error(response, 429, "rate_limited")
    assert response["Retry-After"] == "7"
    assert response["Access-Control-Allow-Origin"] == "*"
    assert nothing_stored()
