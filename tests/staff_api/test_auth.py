"""Only staff get in: an ingest key is never a staff credential, a non-staff user is refused."""

import base64
from collections.abc import Callable
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from rest_framework.test import APIClient

from apps.instances.models import Instance
from apps.products.models import Product
from apps.rollups.models import DailyRollup, Report

from .conftest import NOW


@pytest.fixture
def objects(product: Product, licensed_instance: Instance, installation: Any, make_event: Callable) -> dict:
    event = make_event(licensed_instance)
    report = Report.objects.create(product=product, period_start=NOW.date(), period_end=NOW.date(), created_at=NOW)
    DailyRollup.objects.create(product=product, day=NOW.date(), computed_at=NOW)
    return {"product": product, "instance": licensed_instance, "installation": installation, "event": event,
            "license": licensed_instance.license, "report": report}


def endpoints(o: dict) -> list[tuple[str, str]]:
    """Every staff operation, on objects that exist, so a refusal can only come from the credentials."""
    instance = f"/api/v1/instances/{o['instance'].pk}/"
    return [
        ("get", "/api/v1/"),
        ("get", "/api/v1/products/"), ("post", "/api/v1/products/"),
        ("get", "/api/v1/products/appsmith/"), ("patch", "/api/v1/products/appsmith/"),
        ("post", "/api/v1/products/appsmith/rotate-key/"),
        ("get", "/api/v1/instances/"), ("get", instance), ("patch", instance), ("delete", instance),
        ("get", "/api/v1/instances/export.csv"),
        ("get", "/api/v1/events/"), ("get", f"/api/v1/events/{o['event'].pk}/"),
        ("get", "/api/v1/installations/"), ("get", f"/api/v1/installations/{o['installation'].pk}/"),
        ("get", "/api/v1/licenses/"), ("get", f"/api/v1/licenses/{o['license'].pk}/"),
        ("get", "/api/v1/rollups/daily/"),
        ("get", "/api/v1/reports/"), ("get", f"/api/v1/reports/{o['report'].pk}/"),
    ]


def _call(client: APIClient, method: str, url: str, **extra: Any) -> Any:
    body = {"slug": "x", "name": "X", "collection": "off", "reason": "r"} if method in ("post", "patch") else None
    return getattr(client, method)(url, body, format="json", **extra) if body else getattr(client, method)(
        url, **extra)


def _assert_untouched(o: dict) -> None:
    assert Instance.objects.filter(pk=o["instance"].pk, collection="full").exists()
    assert set(Product.objects.values_list("slug", flat=True)) == {"appsmith"}
    assert Product.objects.get().ingest_key == o["product"].ingest_key


INGEST_KEY_STYLES: dict[str, Callable[[str], dict[str, Any]]] = {
    "basic username": lambda key: {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{key}:".encode()).decode()},
    "X-Telemetry-Key": lambda key: {"HTTP_X_TELEMETRY_KEY": key},
    "?key=": lambda key: {"QUERY_STRING": f"key={key}"},
    "as a token": lambda key: {"HTTP_AUTHORIZATION": f"Token {key}"},
    "as a bearer": lambda key: {"HTTP_AUTHORIZATION": f"Bearer {key}"},
}


@pytest.mark.django_db
@pytest.mark.parametrize("style", INGEST_KEY_STYLES)
def test_an_ingest_key_is_refused_everywhere(objects: dict, style: str) -> None:
    client = APIClient()
    headers = INGEST_KEY_STYLES[style](objects["product"].ingest_key)
    for method, url in endpoints(objects):
        response = _call(client, method, url, **headers)
        assert response.status_code == 401, (style, method, url, response.status_code)
        assert set(response.json()) == {"code", "message"}, (method, url)
        assert response.json()["code"] in ("not_authenticated", "authentication_failed")
        assert response["WWW-Authenticate"] == "Token"
    _assert_untouched(objects)


@pytest.mark.django_db
def test_no_credentials_is_401(objects: dict) -> None:
    for method, url in endpoints(objects):
        response = _call(APIClient(), method, url)
        assert response.status_code == 401, (method, url)
        assert response.json() == {"code": "not_authenticated",
                                   "message": "Authentication credentials were not provided."}
    _assert_untouched(objects)


@pytest.mark.django_db
def test_a_non_staff_user_is_403_by_token_and_by_session(objects: dict, member_client: APIClient) -> None:
    session = APIClient()
    session.force_login(get_user_model().objects.get(username="member"))
    for client in (member_client, session):
        for method, url in endpoints(objects):
            response = _call(client, method, url)
            assert response.status_code == 403, (method, url)
            assert response.json()["code"] == "permission_denied"
            assert set(response.json()) == {"code", "message"}
    _assert_untouched(objects)


@pytest.mark.django_db
def test_staff_get_in_by_session_too(objects: dict, staff_user: Any) -> None:
    client = APIClient()
    client.force_login(staff_user)
    for method, url in endpoints(objects):
        if method == "get":
            assert client.get(url).status_code == 200, url


@pytest.mark.django_db
def test_session_writes_need_the_csrf_token(objects: dict, staff_user: Any) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(staff_user)
    response = client.post("/api/v1/products/", {"slug": "hasura", "name": "Hasura"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied" and "CSRF" in response.json()["message"]


@pytest.mark.django_db
def test_drf_create_token_gives_a_working_token(product: Product, staff_user: Any) -> None:
    out = StringIO()
    call_command("drf_create_token", staff_user.username, stdout=out)
    key = out.getvalue().split()[2]
    client = APIClient()
    response = client.get("/api/v1/products/", HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 200 and response.json()["count"] == 1
    assert client.get("/api/v1/products/", HTTP_AUTHORIZATION="Token not-a-real-token").json() == {
        "code": "authentication_failed", "message": "Invalid token."}
