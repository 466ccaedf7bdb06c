"""The OpenAPI schema validates, covers the staff API, and the docs load without any CDN."""

import re
from io import StringIO
from pathlib import Path

import pytest
import yaml
from django.contrib.staticfiles import finders
from django.core.management import call_command
from django.test import Client

STAFF_PATHS = {
    "/api/v1/products/": {"get", "post"},
    "/api/v1/products/{slug}/": {"get", "patch"},
    "/api/v1/products/{slug}/rotate-key/": {"post"},
    "/api/v1/instances/": {"get"},
    "/api/v1/instances/{id}/": {"get", "patch", "delete"},
    "/api/v1/instances/export.csv": {"get"},
    "/api/v1/events/": {"get"},
    "/api/v1/events/{id}/": {"get"},
    "/api/v1/installations/": {"get"},
    "/api/v1/installations/{id}/": {"get"},
    "/api/v1/licenses/": {"get"},
    "/api/v1/licenses/{id}/": {"get"},
    "/api/v1/rollups/daily/": {"get"},
    "/api/v1/reports/": {"get"},
    "/api/v1/reports/{id}/": {"get"},
    "/api/v1/alert-channels/": {"get", "post"},
    "/api/v1/alert-channels/{id}/": {"get", "patch", "delete"},
    "/api/v1/alert-channels/{id}/test/": {"post"},
    "/api/v1/alert-rules/": {"get", "post"},
    "/api/v1/alert-rules/{id}/": {"get", "patch", "delete"},
    "/api/v1/alerts/": {"get"},
    "/api/v1/alerts/{id}/": {"get"},
    "/api/v1/alerts/{id}/acknowledge/": {"post"},
    "/api/v1/alerts/{id}/mute/": {"post"},
    "/api/v1/alerts/{id}/unmute/": {"post"},
}
FILTERS = {
    "/api/v1/instances/": {"product", "status", "version", "edition", "collection", "country", "search", "label",
                           "last_seen_before", "last_seen_after", "page", "page_size"},
    "/api/v1/events/": {"product", "instance_id", "name", "since", "until", "kind", "cursor", "page_size"},
    "/api/v1/installations/": {"product", "status", "link_reason", "page", "page_size"},
    "/api/v1/licenses/": {"product", "type", "page", "page_size"},
    "/api/v1/rollups/daily/": {"product", "date_from", "date_to", "page", "page_size"},
    "/api/v1/reports/": {"product", "kind", "page", "page_size"},
    "/api/v1/alert-rules/": {"product", "kind", "enabled", "page", "page_size"},
    "/api/v1/alerts/": {"product", "rule", "state", "page", "page_size"},
}


def test_the_schema_validates_without_a_warning(tmp_path: Path) -> None:
    out = tmp_path / "schema.yaml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out), stderr=StringIO())
    schema = yaml.safe_load(out.read_text())
    assert schema["openapi"].startswith("3.")


@pytest.mark.django_db
def test_schema_endpoint_lists_every_staff_operation_and_filter(client: Client) -> None:
    response = client.get("/api/schema/", {"format": "json"})
    assert response.status_code == 200
    schema = response.json()
    for path, methods in STAFF_PATHS.items():
        assert methods <= set(schema["paths"][path]), path
    for path, names in FILTERS.items():
        assert {p["name"] for p in schema["paths"][path]["get"]["parameters"]} == names, path
    export = {p["name"] for p in schema["paths"]["/api/v1/instances/export.csv"]["get"]["parameters"]}
    assert export == FILTERS["/api/v1/instances/"] - {"page", "page_size"}
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])
    assert set(schema["components"]["schemas"]["Error"]["required"]) == {"code", "message"}
    listed = schema["paths"]["/api/v1/instances/"]["get"]["responses"]
    assert {"200", "400", "401", "403", "404"} <= set(listed)


@pytest.mark.django_db
def test_docs_load_no_asset_from_another_site(client: Client) -> None:
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    # Swagger UI's start-up code is served by the same view as a script file (the CSP forbids inline code).
    start_up = [asset for asset in assets if asset.startswith("/api/docs/?")]
    assets = [asset for asset in assets if asset not in start_up]
    assert start_up and assets and all(asset.startswith("/static/") for asset in assets), assets
    assert not re.search(r"https?://", html.replace("http://testserver", ""))
    script = client.get(start_up[0].replace("&amp;", "&")).content.decode()
    assert "/api/schema/" in script and not re.search(r"https?://", script.replace("http://testserver", ""))
    for asset in assets:
        assert finders.find(asset.removeprefix("/static/")), asset
