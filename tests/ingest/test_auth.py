"""The ingest key is found wherever the sender's SDK puts it."""

import base64
import gzip
import urllib.parse

import orjson
import pytest
from django.test import Client

from apps.events.models import Event
from apps.products.models import Product

from .conftest import Post, basic

TRACK = {"type": "track", "event": "clicked", "userId": "u-1"}


@pytest.mark.django_db
def test_basic_username_segment_style(post: Post, appsmith: Product) -> None:
    assert post("/v1/track", TRACK, key=None, HTTP_AUTHORIZATION=basic(appsmith.ingest_key)).status_code == 200
    bad = "Basic " + base64.b64encode(b"tk_unknown:").decode()
    assert post("/v1/track", TRACK, key=None, HTTP_AUTHORIZATION=bad).status_code == 401
    assert post("/v1/track", TRACK, key=None, HTTP_AUTHORIZATION="Basic %%%").json()["code"] == "invalid_key"


@pytest.mark.django_db
def test_bearer_header_and_query(post: Post, client: Client, appsmith: Product) -> None:
    assert post("/api/v1/ingest", {"event": "a"}, key=appsmith.ingest_key).status_code == 200
    assert post("/api/v1/ingest", {"event": "b"}, key=None,
                HTTP_AUTHORIZATION=f"Bearer {appsmith.ingest_key}").status_code == 200
    response = client.post(f"/api/v1/ingest?key={appsmith.ingest_key}", data=orjson.dumps({"event": "c"}),
                           content_type="application/json")
    assert response.status_code == 200
    assert Event.objects.count() == 3


@pytest.mark.django_db
def test_keys_in_the_body(post: Post, appsmith: Product) -> None:
    key = appsmith.ingest_key
    assert post("/v1/batch", {"writeKey": key, "batch": [TRACK]}, key=None).json() == {"success": True}
    for path, body in (("/batch/", {"api_key": key, "batch": [{"event": "e1", "distinct_id": "d"}]}),
                       ("/capture", {"token": key, "event": "e2", "distinct_id": "d"}),
                       ("/e/", [{"event": "e3", "properties": {"token": key, "distinct_id": "d"}}]),
                       ("/i/v0/e", {"batch": [{"event": "e4", "api_key": key}]})):
        assert post(path, body, key=None).json() == {"status": 1}
    assert sorted(Event.objects.values_list("name", flat=True)) == ["clicked", "e1", "e2", "e3", "e4"]


@pytest.mark.django_db
def test_posthog_events_for_another_product_are_refused_by_index(post: Post, appsmith: Product,
                                                                  hasura: Product) -> None:
    batch = [{"event": "mine", "properties": {"token": appsmith.ingest_key}},
             {"event": "theirs", "properties": {"token": hasura.ingest_key}}]
    response = post("/batch/", {"api_key": appsmith.ingest_key, "batch": batch}, key=None)
    assert response.json() == {"status": 1, "errors": [
        {"index": 1, "code": "unknown_key", "message": "This event's token is not the request's key."}]}
    assert list(Event.objects.values_list("product__slug", "name")) == [("appsmith", "mine")]


@pytest.mark.django_db
def test_posthog_browser_forms(client: Client, appsmith: Product) -> None:
    """posthog-js: `data=<base64 JSON>` form bodies and `?compression=gzip-js` gzip bodies."""
    event = {"event": "$pageview", "properties": {"token": appsmith.ingest_key, "distinct_id": "d"}}
    form = urllib.parse.urlencode({"data": base64.b64encode(orjson.dumps(event)).decode()})
    assert client.post("/e/", data=form, content_type="application/x-www-form-urlencoded").status_code == 200
    gz = gzip.compress(orjson.dumps([{**event, "event": "$autocapture"}]))
    assert client.post("/e/?compression=gzip-js", data=gz, content_type="text/plain").status_code == 200
    assert sorted(Event.objects.values_list("name", flat=True)) == ["$autocapture", "$pageview"]


@pytest.mark.django_db
def test_a_wrong_key_outside_the_body_is_refused_before_the_body_is_read(client: Client, appsmith: Product,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from apps.ingest import parsers

    def must_not_read(*args: object, **kwargs: object) -> bytes:
        raise AssertionError("the body was read for a request whose key is wrong")

    monkeypatch.setattr(parsers, "read_body", must_not_read)
    for meta in ({"HTTP_X_TELEMETRY_KEY": "tk_not-a-key"}, {"HTTP_AUTHORIZATION": "Bearer tk_not-a-key"}):
        response = client.post("/api/v1/ingest", data=b'{"broken', content_type="application/json", **meta)
        assert (response.status_code, response.json()["code"]) == (401, "unknown_key")
    response = client.post("/api/v1/ingest/flowfuse/tk_not-a-key", data=b"{}", content_type="application/json")
    assert (response.status_code, response.json()["code"]) == (401, "unknown_key")


@pytest.mark.django_db
def test_a_key_in_the_body_is_read_from_the_one_parse_of_the_body(post: Post, appsmith: Product,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from apps.ingest import parsers

    parses: list[int] = []
    decode = parsers.decode_json

    def counted(raw: bytes, **kwargs: str) -> object:
        parses.append(1)
        return decode(raw, **kwargs)

    monkeypatch.setattr(parsers, "decode_json", counted)
    response = post("/v1/track", {**TRACK, "writeKey": appsmith.ingest_key}, key=None)
    assert response.status_code == 200 and response.json() == {"success": True}
    assert len(parses) == 1 and Event.objects.get().name == "clicked"
