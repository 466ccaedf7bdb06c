import logging
from datetime import timedelta

import pytest
import time_machine
from rest_framework.test import APIClient

from apps.core.privacy import keyed_hash
from apps.events.models import Event
from apps.instances.models import CollectionChange, ErasedInstance, Installation, Instance, StatusChange
from apps.licenses.models import License
from apps.products.models import Product

from .conftest import NOW, count_queries


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["instance_id"] for row in response.json()["results"]]


@pytest.mark.django_db
def test_instance_object_carries_the_contract_fields(api: APIClient, licensed_instance: Instance) -> None:
    body = api.get(f"/api/v1/instances/{licensed_instance.pk}/").json()
    assert body == {
        "id": licensed_instance.pk, "product": "appsmith", "instance_id": "609ce8fb4092701c69df9846",
        "status": "active", "status_changed_at": None, "first_seen": "2023-12-30T12:00:00Z",
        "last_seen": "2024-01-09T12:00:00Z", "version": "v1.9.15", "edition": "ee", "os": "linux",
        "arch": "x86_64", "context": "", "country": "DE", "collection": "full",
        "license": {"id": "lic-9f2", "type": "enterprise", "pk": licensed_instance.license_id},
        "metrics": {"heartbeat": {"users": 12}}, "heartbeat_count": 0, "dropped_count": 0, "labels": [],
    }
    listed = api.get("/api/v1/instances/").json()
    assert listed["count"] == 1 and listed["results"][0] == body


@pytest.fixture
def fleet(make_instance, make_product) -> dict[str, Instance]:
    hasura = make_product("hasura")
    return {
        "a1": make_instance("a1-alpha", status="active", version="v1.9.15", edition="ce", last_seen=NOW),
        "a2": make_instance("a2-beta", status="stale", version="v1.9.2", edition="ee", collection="heartbeat",
                            last_seen=NOW - timedelta(days=3)),
        "a3": make_instance("a3-gamma", status="dead", version="v1.8.0", edition="ce", collection="off",
                            last_seen=NOW - timedelta(days=40)),
        "h1": make_instance("h1-delta", product=hasura, status="new", version="v2.40.0", edition="ce",
                            last_seen=NOW - timedelta(hours=1)),
    }


@pytest.mark.django_db
@pytest.mark.parametrize(("params", "expected"), [
    ({}, ["a1-alpha", "h1-delta", "a2-beta", "a3-gamma"]),  # newest heartbeat first
    ({"product": "appsmith"}, ["a1-alpha", "a2-beta", "a3-gamma"]),
    ({"product": "hasura"}, ["h1-delta"]),
    ({"product": "unknown"}, []),
    ({"status": "stale"}, ["a2-beta"]),
    ({"status": "new"}, ["h1-delta"]),
    ({"version": "v1.9.2"}, ["a2-beta"]),
    ({"edition": "ce"}, ["a1-alpha", "h1-delta", "a3-gamma"]),
    ({"collection": "off"}, ["a3-gamma"]),
    ({"collection": "full"}, ["a1-alpha", "h1-delta"]),
    ({"search": "a2-beta"}, ["a2-beta"]),  # exact id
    ({"search": "a"}, ["a1-alpha", "a2-beta", "a3-gamma"]),  # id prefix
    ({"search": "v2.40.0"}, ["h1-delta"]),  # version
    ({"search": "beta"}, []),  # not a prefix
    ({"last_seen_after": "2024-01-09T11:00:00Z"}, ["a1-alpha", "h1-delta"]),  # inclusive
    ({"last_seen_before": "2024-01-09T11:00:00Z"}, ["a2-beta", "a3-gamma"]),  # exclusive
    ({"last_seen_after": "2024-01-01", "last_seen_before": "2024-01-09T12:00:00+00:00"}, ["h1-delta", "a2-beta"]),
    ({"last_seen_before": "2024-01-09T13:00:00+02:00"}, ["a2-beta", "a3-gamma"]),  # offsets honoured
    ({"product": "appsmith", "status": "active", "edition": "ce", "collection": "full"}, ["a1-alpha"]),
])
def test_list_filters(api: APIClient, fleet: dict, params: dict, expected: list[str]) -> None:
    assert ids(api.get("/api/v1/instances/", params)) == expected


@pytest.mark.django_db
@pytest.mark.parametrize("params", [
    {"status": "zombie"}, {"collection": "some"}, {"last_seen_after": "yesterday"},
    {"last_seen_before": "2024-13-01"}, {"last_seen_after": "0001-01-01T00:00:00+05:00"},
    {"search": "a\x00"}, {"product": "\x00"},
])
def test_bad_filter_values_are_400(api: APIClient, fleet: dict, params: dict) -> None:
    response = api.get("/api/v1/instances/", params)
    assert response.status_code == 400, params
    assert response.json()["code"] == "invalid" and list(response.json()["details"]) == list(params)


@pytest.mark.django_db
def test_pagination_is_stable_across_equal_last_seen(api: APIClient, make_instance) -> None:
    for n in range(7):
        make_instance(f"same-{n}", last_seen=NOW)
    first = api.get("/api/v1/instances/", {"page_size": 4}).json()
    assert first["count"] == 7 and first["previous"] is None and first["next"]
    second = api.get(first["next"]).json()
    assert second["next"] is None and second["previous"]
    seen = [r["instance_id"] for r in first["results"] + second["results"]]
    assert sorted(seen) == [f"same-{n}" for n in range(7)]


@pytest.mark.django_db
def test_list_runs_a_fixed_number_of_queries(api: APIClient, product: Product, make_instance) -> None:
    licence = License.objects.create(product=product, license_id="l", type="t", first_seen=NOW, last_seen=NOW)
    make_instance("first", license=licence)
    few = count_queries(lambda: api.get("/api/v1/instances/", {"product": "appsmith"}))
    for n in range(30):
        make_instance(f"more-{n}", license=licence if n % 2 else None)
    # Token, count, page, and the page's labels.
    assert count_queries(lambda: api.get("/api/v1/instances/", {"product": "appsmith"})) == few <= 4


@pytest.mark.django_db
def test_patch_collection_writes_the_audit_row(api: APIClient, licensed_instance: Instance, staff_user) -> None:
    url = f"/api/v1/instances/{licensed_instance.pk}/"
    with time_machine.travel(NOW, tick=False):
        response = api.patch(url, {"collection": "heartbeat", "reason": "customer asked"}, format="json")
    assert response.status_code == 200 and response.json()["collection"] == "heartbeat"
    audit = CollectionChange.objects.get()
    assert (audit.instance_id, audit.old, audit.new, audit.reason, audit.changed_by, audit.at) == (
        licensed_instance.pk, "full", "heartbeat", "customer asked", staff_user, NOW)
    # Same level again: nothing changed, so nothing audited. No reason is fine.
    assert api.patch(url, {"collection": "heartbeat"}, format="json").status_code == 200
    assert api.patch(url, {"collection": "off"}, format="json").json()["collection"] == "off"
    assert list(CollectionChange.objects.order_by("at", "id").values_list("new", "reason")) == [
        ("heartbeat", "customer asked"), ("off", "")]


@pytest.mark.django_db
@pytest.mark.parametrize("body", [{}, {"collection": "most"}, {"labels": "paying"}, {"labels": ["a,b"]},
                                  {"labels": [""]}, {"labels": ["x" * 65]}, {"labels": [str(n) for n in range(21)]},
                                  {"labels": [None]}, {"collection": None}, {"reason": "no level"},
                                  {"collection": "off", "reason": "x" * 2001}])
def test_patch_rejects_bad_input(api: APIClient, licensed_instance: Instance, body: dict) -> None:
    response = api.patch(f"/api/v1/instances/{licensed_instance.pk}/", body, format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert Instance.objects.get().collection == "full" and not CollectionChange.objects.exists()


@pytest.mark.django_db
def test_patch_and_delete_of_a_missing_instance_are_404(api: APIClient, product: Product) -> None:
    assert api.patch("/api/v1/instances/999/", {"collection": "off"}, format="json").status_code == 404
    assert api.delete("/api/v1/instances/999/").status_code == 404
    assert not ErasedInstance.objects.exists()


@pytest.mark.django_db
def test_delete_erases_everything_about_the_instance(api: APIClient, licensed_instance: Instance,
                                                     installation: Installation, make_instance, make_event,
                                                     staff_user, caplog) -> None:
    other = make_instance("someone-else", license=licensed_instance.license)
    for n in range(3):
        make_event(licensed_instance, timestamp=NOW - timedelta(hours=n))
    kept_event = make_event(other)
    StatusChange.objects.create(instance=licensed_instance, old="new", new="active", at=NOW)
    CollectionChange.objects.create(instance=licensed_instance, at=NOW, old="full", new="heartbeat")
    with time_machine.travel(NOW, tick=False), caplog.at_level(logging.INFO, logger="apps.instances"):
        response = api.delete(f"/api/v1/instances/{licensed_instance.pk}/", QUERY_STRING="reason=GDPR+request")
    assert response.status_code == 204 and response.content == b""
    assert not Instance.objects.filter(pk=licensed_instance.pk).exists()
    assert list(Event.objects.all()) == [kept_event]
    assert not StatusChange.objects.exists() and not CollectionChange.objects.exists()
    installation.refresh_from_db()
    assert installation.instance is None
    assert License.objects.get().instances.get() == other
    erased = ErasedInstance.objects.get()
    assert (erased.product_id, erased.instance_hash, erased.erased_by, erased.erased_at, erased.events_deleted,
            erased.reason) == (licensed_instance.product_id, keyed_hash("609ce8fb4092701c69df9846"), staff_user,
                               NOW, 3, "GDPR request")
    # Logged by hash; the erased id itself appears nowhere.
    assert any("erased an instance of appsmith" in r.getMessage() for r in caplog.records)
    assert "609ce8fb4092701c69df9846" not in caplog.text
    assert api.get(f"/api/v1/instances/{licensed_instance.pk}/").status_code == 404
    assert api.delete(f"/api/v1/instances/{licensed_instance.pk}/").status_code == 404


@pytest.mark.django_db
def test_instances_filter_by_country(api: APIClient, make_instance) -> None:
    make_instance("de-1", country="DE")
    make_instance("de-2", country="DE", last_seen=NOW - timedelta(hours=1))
    make_instance("us-1", country="US")
    make_instance("nowhere")

    def listed(params: dict) -> list[str]:
        response = api.get("/api/v1/instances/", params)
        assert response.status_code == 200, response.content
        return [r["instance_id"] for r in response.json()["results"]]

    assert listed({"country": "DE"}) == ["de-1", "de-2"]
    assert listed({"country": "de", "product": "appsmith"}) == ["de-1", "de-2"]
    assert listed({"country": "FR"}) == []
    assert len(listed({})) == 4
    for bad in ("DEU", "D", "1A", "Ü1", "D\x00"):
        response = api.get("/api/v1/instances/", {"country": bad})
        assert response.status_code == 400, bad
        assert response.json()["code"] == "invalid"
