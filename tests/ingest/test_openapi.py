"""The OpenAPI schema documents every ingest path with request and response shapes, and its examples work."""

import orjson
import pytest
from django.test import Client
from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

from apps.events.models import Event, EventMessageId

INGEST_PATHS = {"/api/v1/ingest", "/api/v1/ingest/hasura", "/api/v1/ingest/flowfuse", "/api/v1/ingest/wasp",
                "/api/v1/ingest/hasura/{key}", "/api/v1/ingest/flowfuse/{key}", "/api/v1/ingest/wasp/{key}",
                "/v1/batch", "/v1/track", "/v1/identify", "/v1/page", "/v1/screen", "/v1/group", "/v1/alias",
                "/batch/", "/capture/", "/e/", "/i/v0/e/"}


def test_schema_has_every_ingest_path_and_is_valid(db: None) -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)
    assert set(schema["paths"]) >= INGEST_PATHS
    for path in INGEST_PATHS:
        operation = schema["paths"][path]["post"]
        assert operation["requestBody"]["content"]["application/json"]["schema"]
        assert set(operation["responses"]) == {"200", "400", "401", "413", "503"}
        assert "Retry-After" in operation["responses"]["503"]["headers"]
    native = schema["components"]["schemas"]["NativeRecord"]["properties"]
    assert {"type", "instance_id", "message_id", "event", "timestamp", "version", "edition", "os", "arch", "metrics",
            "license", "properties", "install_id", "step"} <= set(native)
    assert set(schema["components"]["schemas"]["TwoWayAnswer"]["required"]) == {
        "collect", "latest_version", "outdated", "notices", "next_ping_in"}

    for path in ("/api/v1/ingest/hasura", "/api/v1/ingest/flowfuse/{key}", "/v1/track", "/capture/"):
        content = schema["paths"][path]["post"]["requestBody"]["content"]
        assert {"application/json", "text/plain", "application/x-www-form-urlencoded"} <= set(content)
        assert content["application/json"]["examples"], path


def test_every_ingest_path_shows_a_request_example(db: None) -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    for path in INGEST_PATHS:
        examples = schema["paths"][path]["post"]["requestBody"]["content"]["application/json"].get("examples")
        assert examples and all(example["value"] for example in examples.values()), path


def _examples() -> list[tuple[str, str, dict]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    found = []
    for path, item in schema["paths"].items():
        if path in INGEST_PATHS:
            body = item["post"]["requestBody"]["content"]["application/json"]
            found += [(path, name, example["value"]) for name, example in body.get("examples", {}).items()]
    return found


@pytest.mark.django_db
def test_every_documented_example_is_stored_by_its_endpoint(client: Client, make_product) -> None:
    product = make_product("example", heartbeat_events=["Instance Active", "instance_stats", "cli"],
                           install_events={"install-script:run": "succeeded", "npm-package:postinstall": "succeeded",
                                           "Installation Started": "started"})
    examples = _examples()
    assert {path for path, _, _ in examples} == INGEST_PATHS
    assert len(examples) >= 30
    for path, name, value in examples:
        body = orjson.loads(orjson.dumps(value).replace(b"<ingest key>", product.ingest_key.encode()))
        url = path.replace("{key}", product.ingest_key)
        # The same example is documented on several paths: each must store it, so the dedupe forgets it first.
        Event.objects.all().delete()
        EventMessageId.objects.all().delete()
        response = client.post(url, data=orjson.dumps(body), content_type="application/json",
                               HTTP_X_TELEMETRY_KEY=product.ingest_key, REMOTE_ADDR="198.51.100.7")
        assert response.status_code == 200, (path, name, response.content)
        assert not response.json().get("errors"), (path, name, response.json())
        assert Event.objects.count() == 1, (path, name, response.json())
