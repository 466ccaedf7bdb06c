"""Every record is judged alone, on every ingest path: a hostile record is refused by index with a
clear code, the good one beside it is stored, and nothing answers 5xx."""

import gzip
import time
import tracemalloc
from collections.abc import Callable
from typing import Any

import orjson
import pytest
from django.test import Client

from apps.events.models import Event
from apps.ingest.protocols import common
from apps.products.models import Product

from .conftest import SENDER, basic

pytestmark = pytest.mark.django_db

Record = Callable[[str, dict[str, Any], dict[str, Any]], dict[str, Any]]


def _native(name: str, top: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "heartbeat", "instance_id": name, "properties": props, **top}


def _segment(name: str, top: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    return {"type": "track", "event": "Instance Active", "userId": name, "messageId": f"m-{name}",
            "properties": {"instanceId": name, **props}, **top}


def _posthog(name: str, top: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    return {"event": "Instance Active", "distinct_id": name, "uuid": f"m-{name}", "properties": props, **top}


def _hasura(name: str, top: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    return {"topic": "server_metrics_v2", "data": {"instance_uid": name, "hasura_version": "v2.36.0",
                                                   "metrics": {"tables": 1, **props}, **top}}


def _flowfuse(name: str, top: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    return {"instanceId": name, "env": {"flowforge": "2.6.1"}, "platform": {"counts": {"users": 1, **props}}, **top}


def _wasp(name: str, top: dict[str, Any], props: dict[str, Any]) -> dict[str, Any]:
    return {"event": "cli", "properties": {"distinct_id": name, "wasp_version": "0.15.0", **props}, **top}


PATHS: dict[str, tuple[Record, Callable[[list[dict[str, Any]]], Any]]] = {
    "/api/v1/ingest": (_native, lambda records: {"batch": records}),
    "/v1/batch": (_segment, lambda records: {"batch": records}),
    "/batch/": (_posthog, lambda records: {"batch": records}),
    "/api/v1/ingest/hasura": (_hasura, list),
    "/api/v1/ingest/flowfuse": (_flowfuse, list),
    "/api/v1/ingest/wasp": (_wasp, list),
}


def send(client: Client, product: Product, path: str, *, top: dict[str, Any] | None = None,
         props: dict[str, Any] | None = None, raw: Callable[[bytes], bytes] | None = None) -> tuple[int, Any]:
    """A request of two records, the hostile one first; `raw` edits the encoded body (what JSON encoders
    cannot write: duplicate keys, numbers beyond 64 bits)."""
    record, wrap = PATHS[path]
    body = orjson.dumps(wrap([record("hostile-1", top or {}, props or {}), record("good-1", {}, {})]))
    if raw:
        body = raw(body)
    response = client.post(path, data=body, content_type="application/json", REMOTE_ADDR=SENDER,
                           HTTP_X_TELEMETRY_KEY=product.ingest_key, HTTP_AUTHORIZATION=basic(product.ingest_key))
    return response.status_code, response.json()


@pytest.fixture
def product(make_product) -> Product:
    return make_product("hostile", heartbeat_events=["Instance Active", "cli"])


def stored_names(product: Product) -> set[str | None]:
    return set(Event.objects.filter(product=product).values_list("instance__instance_id", flat=True))


@pytest.mark.parametrize("when", ["9999-12-31T23:59:59-01:00", "0001-01-01T00:00:00+01:00", "+275760-09-13T00:00:00Z",
                                  "1969-12-31T23:59:59Z", "2100-01-01T00:00:00Z", 1e20, -1e20, 253402300800000])
@pytest.mark.parametrize("path", list(PATHS))
def test_timestamps_out_of_the_calendar_are_refused_by_index(client: Client, product: Product, path: str,
                                                             when: Any) -> None:
    status, answer = send(client, product, path, top={"timestamp": when})
    assert status == 200, answer
    # An epoch number beyond a 64-bit integer breaks the number limit before it is read as a time.
    code = "number_out_of_range" if isinstance(when, float) else "invalid_timestamp"
    assert [(e["index"], e["code"]) for e in answer["errors"]] == [(0, code)], answer
    assert stored_names(product) == {"good-1"}


@pytest.mark.parametrize("path", ["/batch/"])
@pytest.mark.parametrize(("offset", "code"), [(b"1e18", "invalid_field"), (b"-1e18", "invalid_field"),
                                              (b"1e20", "number_out_of_range"), (b"-1e20", "number_out_of_range"),
                                              (b"100000000000000000000000000000", "number_out_of_range")])
def test_posthog_offset_beyond_ten_years_is_refused_by_index(client: Client, product: Product, path: str,
                                                             offset: bytes, code: str) -> None:
    status, answer = send(client, product, path, top={"offset": 0},
                          raw=lambda body: body.replace(b'"offset":0', b'"offset":' + offset, 1))
    assert status == 200 and [(e["index"], e["code"]) for e in answer["errors"]] == [(0, code)], answer
    assert stored_names(product) == {"good-1"}


@pytest.mark.parametrize("path", list(PATHS))
def test_nul_characters_are_removed_and_duplicate_keys_keep_the_last(client: Client, product: Product,
                                                                     path: str) -> None:
    status, answer = send(client, product, path, props={"note": "a\u0000b"},
                          raw=lambda body: body.replace(b'"note":', b'"note":"first","note":', 1))
    assert status == 200 and not answer.get("errors"), answer
    assert stored_names(product) == {"hostile-1", "good-1"}
    events = Event.objects.select_related("instance")
    texts = [orjson.dumps([e.properties, e.instance and e.instance.metrics]).decode() for e in events]
    assert not any("\\u0000" in text or "first" in text for text in texts), texts
    assert any('"ab"' in text for text in texts), texts


@pytest.mark.parametrize(("depth", "refused"), [(50, False), (255, True), (1000, True)])
@pytest.mark.parametrize("path", list(PATHS))
def test_nesting_beyond_the_limit_is_refused_by_index(client: Client, product: Product, path: str, depth: int,
                                                      refused: bool) -> None:
    nested = b'{"n":' * depth + b"1" + b"}" * depth  # beyond what orjson will encode, not what it parses
    status, answer = send(client, product, path, props={"deep": 0},
                          raw=lambda body: body.replace(b'"deep":0', b'"deep":' + nested, 1))
    assert status == 200, answer
    assert [(e["index"], e["code"]) for e in answer.get("errors", [])] == ([(0, "too_deep")] if refused else [])
    assert stored_names(product) == ({"good-1"} if refused else {"hostile-1", "good-1"})


def test_nesting_beyond_the_parser_is_a_clear_400(client: Client, product: Product) -> None:
    status, answer = send(client, product, "/api/v1/ingest", props={"deep": 0},
                          raw=lambda body: body.replace(b'"deep":0', b'"deep":' + b"[" * 5000 + b"]" * 5000, 1))
    assert (status, answer["code"]) == (400, "invalid_json"), answer


LIMITS = common.MAX_KEYS_PER_OBJECT, common.MAX_MEMBERS_PER_RECORD, common.MAX_KEY_LENGTH, common.MAX_STRING_LENGTH
BEYOND_THE_LIMITS: dict[str, tuple[dict[str, Any], str]] = {
    "keys in one object": ({"many": {f"k{n}": n for n in range(common.MAX_KEYS_PER_OBJECT + 1)}}, "too_many_keys"),
    "keys in the record": ({f"o{n}": {f"k{m}": m for m in range(900)} for n in range(12)}, "too_many_keys"),
    "items in a list": ({"list": list(range(common.MAX_MEMBERS_PER_RECORD + 1))}, "too_many_keys"),
    "key length": ({"k" * (common.MAX_KEY_LENGTH + 1): 1}, "too_long"),
    "string length": ({"long": "s" * (common.MAX_STRING_LENGTH + 1)}, "too_long"),
    "string length in a list": ({"long": ["s" * (common.MAX_STRING_LENGTH + 1)]}, "too_long"),
}
AT_THE_LIMITS = {"many": {f"k{n}": n for n in range(common.MAX_KEYS_PER_OBJECT - 5)},
                 "k" * common.MAX_KEY_LENGTH: "s" * common.MAX_STRING_LENGTH,
                 "ints": [2**63 - 1, -(2**63)], "fractions": [0.5, -1e18, 1e-300]}


@pytest.mark.parametrize("case", list(BEYOND_THE_LIMITS))
@pytest.mark.parametrize("path", list(PATHS))
def test_records_beyond_the_size_limits_are_refused_by_index(client: Client, product: Product, path: str,
                                                             case: str) -> None:
    props, code = BEYOND_THE_LIMITS[case]
    status, answer = send(client, product, path, props=props)
    assert status == 200, answer
    assert [(e["index"], e["code"]) for e in answer["errors"]] == [(0, code)], answer
    assert stored_names(product) == {"good-1"}


@pytest.mark.parametrize("path", list(PATHS))
def test_records_at_the_limits_are_stored(client: Client, product: Product, path: str) -> None:
    status, answer = send(client, product, path, props=AT_THE_LIMITS)
    assert status == 200 and not answer.get("errors"), answer
    assert stored_names(product) == {"hostile-1", "good-1"}


# Numbers no 64-bit column or jsonb can hold, as senders write them (Python's json.dumps writes NaN).
HUGE_NUMBERS = [b"9223372036854775808", b"18446744073709551615", b"-9223372036854775809", b"9" * 30, b"1e19",
                b"1e308", b"-1e308", b"1e400", b"-1e400", b"1" + b"0" * 400, b"9" * 5000, b"NaN", b"Infinity",
                b"-Infinity", b"[1, NaN]", b'{"deeper": Infinity}']


@pytest.mark.parametrize("number", HUGE_NUMBERS, ids=lambda number: number[:24].decode())
@pytest.mark.parametrize("path", list(PATHS))
def test_numbers_beyond_64_bits_are_refused_by_index(client: Client, product: Product, path: str,
                                                     number: bytes) -> None:
    status, answer = send(client, product, path, props={"big": 0},
                          raw=lambda body: body.replace(b'"big":0', b'"big":' + number, 1))
    assert status == 200, answer
    assert [(e["index"], e["code"]) for e in answer["errors"]] == [(0, "number_out_of_range")], answer
    assert stored_names(product) == {"good-1"}


def test_shared_batch_fields_are_held_to_the_same_limits(client: Client, product: Product) -> None:
    body = orjson.dumps({"batch": [_segment("good-1", {}, {})], "context": {"big": 0}}).replace(b"0}}", b"NaN}}")
    response = client.post("/v1/batch", data=body, content_type="application/json",
                           HTTP_AUTHORIZATION=basic(product.ingest_key))
    assert (response.status_code, response.json()["code"]) == (400, "number_out_of_range"), response.json()


BAD_UTF8 = {"invalid bytes": b'"\xff\xfe"', "overlong": b'"\xc0\xaf"', "encoded surrogate": b'"\xed\xa0\x80"',
            "lone surrogate escape": b'"\\ud800"', "lone surrogate beside NaN": b'"\\udfff","n":NaN'}


@pytest.mark.parametrize("case", list(BAD_UTF8))
@pytest.mark.parametrize("gzipped", [False, True])
@pytest.mark.parametrize("path", list(PATHS))
def test_bad_utf8_is_a_clear_400(client: Client, product: Product, path: str, case: str, gzipped: bool) -> None:
    record, wrap = PATHS[path]
    body = orjson.dumps(wrap([record("hostile-1", {}, {"note": 0})])).replace(b'"note":0', b'"note":' + BAD_UTF8[case])
    response = client.post(path, data=gzip.compress(body) if gzipped else body, content_type="application/json",
                           HTTP_CONTENT_ENCODING="gzip" if gzipped else "", HTTP_X_TELEMETRY_KEY=product.ingest_key,
                           HTTP_AUTHORIZATION=basic(product.ingest_key))
    assert (response.status_code, response.json()["code"]) == (400, "invalid_encoding"), response.json()
    assert not Event.objects.exists()


@pytest.mark.parametrize("path", list(PATHS))
def test_error_lists_are_bounded_and_say_how_many_were_left_out(client: Client, product: Product, path: str) -> None:
    record, wrap = PATHS[path]
    bad = [record(f"bad-{n}", {"timestamp": "not a time"}, {}) for n in range(130)]
    body = orjson.dumps(wrap([*bad, record("good-1", {}, {})]))
    response = client.post(path, data=body, content_type="application/json", REMOTE_ADDR=SENDER,
                           HTTP_X_TELEMETRY_KEY=product.ingest_key, HTTP_AUTHORIZATION=basic(product.ingest_key))
    answer = response.json()
    assert response.status_code == 200, answer
    assert [e["index"] for e in answer["errors"]] == list(range(100))
    assert answer["errors_omitted"] == 30
    assert stored_names(product) == {"good-1"}

    everything_bad = client.post(path, data=orjson.dumps(wrap(bad)), content_type="application/json",
                                 REMOTE_ADDR=SENDER, HTTP_X_TELEMETRY_KEY=product.ingest_key,
                                 HTTP_AUTHORIZATION=basic(product.ingest_key))
    refused = everything_bad.json()
    assert (everything_bad.status_code, refused["code"], len(refused["details"])) == (400, "invalid_records", 100)
    assert refused["message"] == "No record in the request is valid. The first 100 of 130 are listed."


@pytest.mark.parametrize("path", list(PATHS))
def test_an_unexpected_failure_still_answers_json(client: Client, product: Product, path: str, monkeypatch) -> None:
    def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr("apps.ingest.pipeline.prepare", broken)
    client.raise_request_exception = False
    status, answer = send(client, product, path)
    assert (status, answer["code"]) == (500, "server_error")
    assert not Event.objects.exists()


def post_raw(client: Client, path: str, body: bytes, **headers: Any) -> tuple[int, Any, float]:
    """Status, answer and the CPU time this thread spent on the request."""
    started = time.thread_time()
    response = client.post(path, data=body, content_type="application/json", REMOTE_ADDR=SENDER, **headers)
    return response.status_code, response.json(), time.thread_time() - started


@pytest.fixture(scope="module")
def bomb() -> bytes:
    """A few kilobytes that inflate to 64 MB."""
    return gzip.compress(b'{"batch": [' + b" " * (64 << 20) + b"]}", compresslevel=9)


@pytest.mark.parametrize("path", list(PATHS))
def test_a_gzip_bomb_is_refused_fast_on_every_path(client: Client, product: Product, path: str, bomb: bytes) -> None:
    key = product.ingest_key
    status, answer, cpu = post_raw(client, path, bomb, HTTP_CONTENT_ENCODING="gzip", HTTP_X_TELEMETRY_KEY=key,
                                   HTTP_AUTHORIZATION=basic(key))
    assert (status, answer["code"]) == (413, "payload_too_large"), answer
    assert cpu < 0.5, cpu


# 50,000 empty gzip members: one megabyte that once cost 0.7 s of CPU before it was refused.
MEMBER_FLOOD = gzip.compress(b"") * 50_000


@pytest.mark.parametrize("path", list(PATHS))
def test_a_gzip_member_flood_without_a_key_is_refused_cheaply(client: Client, product: Product, path: str) -> None:
    status, answer, cpu = post_raw(client, path, MEMBER_FLOOD, HTTP_CONTENT_ENCODING="gzip")
    assert (status, answer["code"]) == (400, "invalid_encoding"), answer
    assert cpu < 0.1, cpu


@pytest.mark.parametrize(("path", "headers"), [
    ("/api/v1/ingest", {"HTTP_X_TELEMETRY_KEY": "wrong"}),
    ("/v1/batch", {"HTTP_AUTHORIZATION": basic("wrong")}),
    ("/batch/", {"HTTP_AUTHORIZATION": "Bearer wrong"}),
    ("/api/v1/ingest/flowfuse/wrong", {}),
])
def test_a_wrong_key_in_headers_or_url_is_refused_before_decompressing(client: Client, product: Product, path: str,
                                                                       headers: dict[str, str], monkeypatch) -> None:
    def never(*args: Any, **kwargs: Any) -> bytes:
        raise AssertionError("decompressed before the key was checked")

    monkeypatch.setattr("apps.ingest.decoding.gunzip", never)
    status, answer, _ = post_raw(client, path, MEMBER_FLOOD, HTTP_CONTENT_ENCODING="gzip", **headers)
    assert (status, answer["code"]) == (401, "unknown_key"), answer


def test_a_few_gzip_members_are_one_body(client: Client, product: Product) -> None:
    body = orjson.dumps({"batch": [_native("good-1", {}, {})]})
    status, answer, _ = post_raw(client, "/api/v1/ingest", gzip.compress(body[:10]) + gzip.compress(body[10:]),
                                 HTTP_CONTENT_ENCODING="gzip", HTTP_X_TELEMETRY_KEY=product.ingest_key)
    assert status == 200, answer
    assert stored_names(product) == {"good-1"}


def measured(client: Client, path: str, body: bytes, product: Product) -> tuple[int, Any, int, int]:
    """Status, answer, answer size and the peak memory Python allocated while serving the request."""
    tracemalloc.start()
    try:
        response = client.post(path, data=body, content_type="application/json", REMOTE_ADDR=SENDER,
                               HTTP_X_TELEMETRY_KEY=product.ingest_key, HTTP_AUTHORIZATION=basic(product.ingest_key))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return response.status_code, response.json(), len(response.content), peak


@pytest.mark.parametrize("path", list(PATHS))
def test_a_hundred_thousand_records_get_one_clear_answer_in_bounded_memory(client: Client, product: Product,
                                                                         path: str) -> None:
    _, wrap = PATHS[path]
    body = orjson.dumps(wrap([{"n": 1}] * 100_000))
    status, answer, size, peak = measured(client, path, body, product)
    assert (status, answer["code"]) == (413, "too_many_records"), answer
    # Parsing alone costs about 40 bytes per body byte (a dict per record); nothing after it grows with the count.
    assert size < 1_000 and peak < 48 << 20, (size, peak)
    assert not Event.objects.exists()


@pytest.mark.parametrize("path", list(PATHS))
def test_a_full_batch_of_bad_records_gets_a_bounded_answer_in_bounded_memory(client: Client, product: Product,
                                                                            path: str) -> None:
    _, wrap = PATHS[path]
    body = orjson.dumps(wrap([{"n": 1}] * common.MAX_RECORDS_PER_REQUEST))  # no record of any protocol
    status, answer, size, peak = measured(client, path, body, product)
    assert (status, answer["code"], len(answer["details"])) == (400, "invalid_records", 100), answer
    assert size < 20_000 and peak < 16 << 20, (size, peak)
