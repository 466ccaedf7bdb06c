"""The OpenAPI hook documents every ingest path with request and response shapes."""

from drf_spectacular.generators import SchemaGenerator
from drf_spectacular.validation import validate_schema

INGEST_PATHS = {"/api/v1/ingest", "/api/v1/ingest/hasura", "/api/v1/ingest/flowfuse", "/api/v1/ingest/wasp",
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
