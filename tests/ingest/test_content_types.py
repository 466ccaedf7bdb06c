"""JSON is JSON whatever the Content-Type says; PostHog's `data=` form keeps working; an empty body says so."""

import base64
import urllib.parse
from typing import Any

import orjson
import pytest
from django.test import Client

from apps.events.models import Event
from apps.instances.models import Instance
from apps.products.models import Product

from .conftest import SENDER

HEARTBEAT = {"type": "heartbeat", "instance_id": "ct-1", "version": "1.4.2", "os": "linux", "metrics": {"users": 12}}
EVENT = {"event": "Instance Active", "distinct_id": "ph-1", "properties": {"instanceId": "ph-1", "version": "2.0"}}


def post(client: Client, path: str, body: bytes, content_type: str, key: str | None) -> dict:
    """The JSON answer, with the HTTP status under `http`."""
    headers: dict[str, Any] = {"HTTP_X_TELEMETRY_KEY": key} if key else {}
    response = client.post(path, data=body, content_type=content_type, REMOTE_ADDR=SENDER, **headers)
    return {"http": response.status_code, **response.json()}


@pytest.mark.parametrize("content_type", [
    "application/x-www-form-urlencoded",  # curl -d without -H
    "text/plain;charset=UTF-8",  # navigator.sendBeacon
    "text/plain",
    "application/octet-stream",
    "",
    "multipart/form-data; boundary=x",
])
@pytest.mark.django_db
def test_a_json_body_is_json_under_any_label(client: Client, product: Product, content_type: str) -> None:
    answer = post(client, "/api/v1/ingest", orjson.dumps(HEARTBEAT), content_type, product.ingest_key)
    assert (answer["http"], answer["accepted"]) == (200, 1), answer
    instance = Instance.objects.get(product=product)
    assert (instance.instance_id, instance.version, instance.os, instance.metrics) == (
        "ct-1", "1.4.2", "linux", {"heartbeat": {"users": 12}})


@pytest.mark.django_db
def test_json_with_leading_whitespace_or_a_bom_and_a_list_body(client: Client, product: Product) -> None:
    body = b"\xef\xbb\xbf \n" + orjson.dumps([HEARTBEAT, {**HEARTBEAT, "instance_id": "ct-2"}])
    answer = post(client, "/api/v1/ingest", body, "application/x-www-form-urlencoded", product.ingest_key)
    assert (answer["http"], answer["accepted"]) == (200, 2), answer


@pytest.mark.parametrize("encode", [
    lambda raw: raw.decode(),  # plain JSON in `data`
    lambda raw: base64.b64encode(raw).decode(),
    lambda raw: base64.b64encode(raw).decode().rstrip("="),  # unpadded, as posthog-js may send it
    lambda raw: base64.urlsafe_b64encode(raw).decode(),
])
@pytest.mark.django_db
def test_posthog_data_form_plain_and_base64(client: Client, product: Product, encode) -> None:
    raw = orjson.dumps({**EVENT, "api_key": product.ingest_key, "uuid": "0b8e4a8e-25a4-4e6c-9b1f-2f7c7f0c2a11"})
    form = urllib.parse.urlencode({"data": encode(raw), "ver": "1.0"}).encode()
    answer = post(client, "/e/", form, "application/x-www-form-urlencoded", None)
    assert answer == {"http": 200, "status": 1}, answer
    event = Event.objects.get(product=product)
    assert (event.name, event.message_id, event.kind) == (
        "Instance Active", "0b8e4a8e-25a4-4e6c-9b1f-2f7c7f0c2a11", "heartbeat")


@pytest.mark.django_db
def test_a_data_form_is_read_even_when_labelled_text_plain(client: Client, product: Product) -> None:
    raw = orjson.dumps({**EVENT, "api_key": product.ingest_key})
    form = b"data=" + urllib.parse.quote(base64.b64encode(raw).decode()).encode()
    assert post(client, "/capture/", form, "text/plain", None)["http"] == 200
    assert Event.objects.filter(product=product, name="Instance Active").count() == 1


@pytest.mark.parametrize(("body", "content_type", "code", "message"), [
    (b"", "application/json", "invalid_json", "The body is empty."),
    (b"  \n ", "application/x-www-form-urlencoded", "invalid_json", "The body is empty."),
    (b"", "application/x-www-form-urlencoded", "invalid_json", "The body is empty."),
    (b"data=", "application/x-www-form-urlencoded", "invalid_json", "The form field `data` is empty."),
    (b"data=%20%20", "text/plain", "invalid_json", "The form field `data` is empty."),
    (b"data=" + base64.b64encode(b"   "), "application/x-www-form-urlencoded", "invalid_json",
     "The form field `data` decodes to an empty body."),
    (b"ver=1&compression=none", "application/x-www-form-urlencoded", "invalid_json",
     "The body is neither JSON nor a form with a `data` field carrying JSON."),
    (b"data=%%%not-base64!", "application/x-www-form-urlencoded", "invalid_encoding",
     "The form field `data` is neither JSON nor base64."),
])
@pytest.mark.django_db
def test_empty_and_unreadable_bodies_say_what_is_wrong(client: Client, product: Product, body: bytes,
                                                       content_type: str, code: str, message: str) -> None:
    answer = post(client, "/api/v1/ingest", body, content_type, product.ingest_key)
    assert (answer["http"], answer["code"], answer["message"]) == (400, code, message), answer
    assert not Event.objects.exists()


@pytest.mark.django_db
def test_malformed_json_under_a_form_label_is_reported_as_json(client: Client, product: Product) -> None:
    answer = post(client, "/api/v1/ingest", b'{"type": "heartbeat",', "application/x-www-form-urlencoded",
                  product.ingest_key)
    assert (answer["http"], answer["code"]) == (400, "invalid_json")
    assert answer["message"].startswith("The body is not valid JSON")


@pytest.mark.parametrize("offset", [b"1e20", b"-1e20", b"1000000000000000000000000000000"])
@pytest.mark.django_db
def test_an_offset_beyond_the_calendar_is_refused_by_index(client: Client, product: Product, offset: bytes) -> None:
    # Beyond 64 bits, the number limit refuses the record before its offset is read.
    good = {**EVENT, "uuid": "9f7e2c1a-0000-4000-8000-000000000001"}
    body = orjson.dumps({"api_key": product.ingest_key, "batch": [{**EVENT, "offset": 0}, good]})
    body = body.replace(b'"offset":0', b'"offset":' + offset, 1)
    answer = post(client, "/batch/", body, "application/json", None)
    assert answer["http"] == 200 and [(e["index"], e["code"]) for e in answer["errors"]] == [(0, "number_out_of_range")]
    assert Event.objects.get(product=product).message_id == good["uuid"]
