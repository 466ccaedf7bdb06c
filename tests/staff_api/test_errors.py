"""Every error of the staff API is JSON `{"code", "message"}` (plus `details` for validation)."""

import pytest
from rest_framework.test import APIClient

from apps.products.models import Product


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code and isinstance(body["message"], str) and body["message"]
    assert set(body) <= {"code", "message", "details"}
    return body


@pytest.mark.django_db
def test_404_unknown_url_unknown_object_and_bad_page(api: APIClient, product: Product) -> None:
    assert_error(api.get("/api/v1/no-such-thing/"), 404, "not_found")
    assert_error(api.get("/api/nope"), 404, "not_found")
    assert_error(api.get("/api/v1/products/nope/"), 404, "not_found")
    assert_error(api.get("/api/v1/instances/12345/"), 404, "not_found")
    # Beyond 64 bits: still "no such instance", never a database error.
    assert_error(api.get("/api/v1/instances/123456789012345678901234567890/"), 404, "not_found")
    assert_error(api.get("/api/v1/instances/abc/"), 404, "not_found")
    assert_error(api.get("/api/v1/instances/", {"page": 7}), 404, "not_found")
    assert_error(api.get("/api/v1/events/", {"cursor": "garbage"}), 404, "not_found")


@pytest.mark.django_db
def test_404_outside_the_api_stays_html(client, product: Product) -> None:
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and not response["Content-Type"].startswith("application/json")


@pytest.mark.django_db
def test_405(api: APIClient, product: Product) -> None:
    body = assert_error(api.delete("/api/v1/products/appsmith/"), 405, "method_not_allowed")
    assert "DELETE" in body["message"]
    assert_error(api.put("/api/v1/products/appsmith/", {"name": "x"}, format="json"), 405, "method_not_allowed")
    assert_error(api.post("/api/v1/instances/", {}, format="json"), 405, "method_not_allowed")
    assert_error(api.delete("/api/v1/events/"), 405, "method_not_allowed")
    assert_error(api.post("/api/v1/instances/export.csv"), 405, "method_not_allowed")


@pytest.mark.django_db
def test_400_validation_names_the_field(api: APIClient, product: Product) -> None:
    body = assert_error(api.post("/api/v1/products/", {"slug": "has ura"}, format="json"), 400, "invalid")
    assert set(body["details"]) == {"slug", "name"}
    assert body["message"].startswith("slug: ")
    assert_error(api.get("/api/v1/instances/", {"status": "zombie"}), 400, "invalid")


@pytest.mark.django_db
def test_malformed_and_unsupported_bodies(api: APIClient, product: Product) -> None:
    assert_error(api.generic("POST", "/api/v1/products/", "{not json", content_type="application/json"),
                 400, "parse_error")
    assert_error(api.generic("POST", "/api/v1/products/", "slug=x", content_type="text/plain"),
                 415, "unsupported_media_type")


@pytest.mark.django_db
def test_401_and_403_shapes(member_client: APIClient, product: Product) -> None:
    assert_error(APIClient().get("/api/v1/products/"), 401, "not_authenticated")
    assert_error(member_client.get("/api/v1/products/"), 403, "permission_denied")


@pytest.mark.django_db
def test_a_crash_under_the_api_is_json_500(api: APIClient, product: Product, monkeypatch) -> None:
    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr("apps.staff_api.views.readonly.breakdowns_by_day", explode)
    api.raise_request_exception = False
    response = api.get("/api/v1/rollups/daily/")
    assert response.status_code == 500
    assert response.json() == {"code": "server_error", "message": "Internal server error."}
    assert b"boom" not in response.content


@pytest.mark.django_db
def test_the_browsable_api_renders_with_its_filter_forms(client, staff_user, product: Product) -> None:
    client.force_login(staff_user)
    for url in ("/api/v1/", "/api/v1/instances/?status=new", "/api/v1/events/", "/api/v1/products/appsmith/"):
        response = client.get(url, HTTP_ACCEPT="text/html")
        assert response.status_code == 200 and response["Content-Type"].startswith("text/html"), url
