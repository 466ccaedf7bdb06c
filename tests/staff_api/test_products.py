import pytest
from rest_framework.test import APIClient

from apps.products.models import Product

from .conftest import count_queries


@pytest.mark.django_db
def test_create_returns_the_product_with_its_ingest_key(api: APIClient) -> None:
    response = api.post("/api/v1/products/", {"slug": "hasura", "name": "Hasura"}, format="json")
    assert response.status_code == 201
    body = response.json()
    product = Product.objects.get(slug="hasura")
    assert body["ingest_key"] == product.ingest_key and body["ingest_key"].startswith("tk_")
    assert body["name"] == "Hasura" and body["heartbeat_interval"] == 86400 and body["stale_after"] is None
    assert body["stale_after_seconds"] == 2 * 86400 + 3600
    assert body["heartbeat_events"] == product.heartbeat_events


@pytest.mark.django_db
def test_create_with_settings_and_rejects_duplicates(api: APIClient) -> None:
    payload = {"slug": "flowfuse", "name": "FlowFuse", "heartbeat_interval": 3600, "stale_after": 7200,
               "dead_after": 86400, "heartbeat_events": ["flowfuse.ping"], "install_events": {},
               "latest_version": "2.3.0", "retention_days": 30}
    response = api.post("/api/v1/products/", payload, format="json")
    assert response.status_code == 201, response.json()
    assert {k: response.json()[k] for k in payload} == payload
    again = api.post("/api/v1/products/", {"slug": "flowfuse", "name": "Again"}, format="json")
    assert again.status_code == 400 and "slug" in again.json()["details"]


@pytest.mark.django_db
def test_list_and_retrieve(api: APIClient, make_product) -> None:
    make_product("wasp")
    make_product("hasura")
    listing = api.get("/api/v1/products/").json()
    assert listing["count"] == 2 and [p["slug"] for p in listing["results"]] == ["hasura", "wasp"]
    assert set(listing) == {"count", "next", "previous", "results"}
    assert api.get("/api/v1/products/wasp/").json()["slug"] == "wasp"


@pytest.mark.django_db
def test_patch_every_settable_field(api: APIClient, product: Product) -> None:
    changes = {"name": "Appsmith CE", "heartbeat_interval": 7200, "stale_after": 18000, "dead_after": 604800,
               "heartbeat_events": ["Instance Active"], "install_events": {"Installation Started": "started"},
               "latest_version": "v1.9.20", "retention_days": 90}
    response = api.patch("/api/v1/products/appsmith/", changes, format="json")
    assert response.status_code == 200, response.json()
    product.refresh_from_db()
    for field, value in changes.items():
        assert getattr(product, field) == value
    assert response.json()["stale_after_seconds"] == 18000
    # The slug and the key are not settable this way.
    api.patch("/api/v1/products/appsmith/", {"slug": "other", "ingest_key": "tk_mine"}, format="json")
    product.refresh_from_db()
    assert product.slug == "appsmith" and product.ingest_key != "tk_mine"
    assert api.patch("/api/v1/products/appsmith/", {"stale_after": None}, format="json").json()["stale_after"] is None


@pytest.mark.django_db
@pytest.mark.parametrize("changes", [
    {"heartbeat_interval": 0}, {"heartbeat_interval": -5}, {"heartbeat_interval": "often"},
    {"stale_after": 0}, {"dead_after": 2**40}, {"retention_days": 0},
    {"heartbeat_events": "FETCH_RELEASE_NOTES"}, {"heartbeat_events": [""]},
    {"install_events": {"Installation Started": "begun"}}, {"install_events": {"": "started"}},
    {"install_events": ["started"]}, {"latest_version": "latest"}, {"name": ""}, {"name": "a\x00b"},
    # dead before stale: 10 days of heartbeat interval against a 1-day dead threshold.
    {"heartbeat_interval": 864000, "dead_after": 86400}, {"dead_after": 3600},
])
def test_patch_rejects_bad_settings(api: APIClient, product: Product, changes: dict) -> None:
    before = Product.objects.values().get(pk=product.pk)
    response = api.patch("/api/v1/products/appsmith/", changes, format="json")
    assert response.status_code == 400, (changes, response.json())
    assert response.json()["code"] == "invalid" and response.json()["details"]
    assert Product.objects.values().get(pk=product.pk) == before


@pytest.mark.django_db
def test_rotate_key(api: APIClient, product: Product) -> None:
    old = product.ingest_key
    response = api.post("/api/v1/products/appsmith/rotate-key/")
    assert response.status_code == 200
    product.refresh_from_db()
    assert product.ingest_key != old and response.json()["ingest_key"] == product.ingest_key
    assert api.post("/api/v1/products/nope/rotate-key/").status_code == 404
    assert api.get("/api/v1/products/appsmith/rotate-key/").status_code == 405


@pytest.mark.django_db
def test_product_list_runs_a_fixed_number_of_queries(api: APIClient, make_product) -> None:
    make_product("a")
    few = count_queries(lambda: api.get("/api/v1/products/"))
    for n in range(20):
        make_product(f"p{n}")
    assert count_queries(lambda: api.get("/api/v1/products/")) == few <= 3
