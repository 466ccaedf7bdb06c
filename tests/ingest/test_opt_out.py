"""The dark fleet: `{"type": "opt_out"}` is counted per day and version, and identifies nothing."""

from datetime import date, timedelta

import pytest
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from apps.events.models import Event
from apps.instances.models import Instance
from apps.products.models import Product
from apps.rollups.models import DailyBreakdown, DailyRollup
from apps.rollups.services import rollups_build

from .conftest import NOW, SENDER, Post
from .test_privacy import dump

OPT_OUT = {"type": "opt_out", "version": "1.9.2", "os": "linux"}


@pytest.mark.django_db
def test_an_opt_out_is_stored_without_instance_or_address(post: Post, appsmith: Product, clock) -> None:
    response = post("/api/v1/ingest", OPT_OUT, key=appsmith.ingest_key, remote_addr="194.25.2.129")
    assert response.status_code == 200
    assert response.json() == {"accepted": 1, "duplicates": 0, "dropped": 0, "errors": []}
    event = Event.objects.get()
    assert (event.kind, event.name, event.instance_id, event.properties) == (
        "opt_out", "opt_out", None, {"version": "1.9.2", "os": "linux"})
    assert event.timestamp == NOW
    assert not Instance.objects.exists()


@pytest.mark.django_db
def test_whatever_else_an_opt_out_carries_is_never_stored(post: Post, appsmith: Product, clock) -> None:
    noisy = {**OPT_OUT, "instance_id": "i-secret", "install_id": "run-1", "edition": "EE", "ipAddress": "8.8.8.8",
             "license": {"id": "lic-1", "type": "enterprise"}, "metrics": {"users": 3},
             "properties": {"email": "admin@example.com", "hostname": "db-prod-1"}}
    assert post("/api/v1/ingest", noisy, key=appsmith.ingest_key).json()["accepted"] == 1
    assert Event.objects.get().properties == {"version": "1.9.2", "os": "linux"}
    assert not Instance.objects.exists()
    text = dump()
    for secret in ("i-secret", "run-1", "8.8.8.8", SENDER, "lic-1", "admin@example.com", "db-prod-1"):
        assert secret not in text, secret


@pytest.mark.django_db
def test_retries_count_once_and_distinct_opt_outs_each_count(post: Post, appsmith: Product, clock) -> None:
    first = post("/api/v1/ingest", OPT_OUT, key=appsmith.ingest_key).json()
    retry = post("/api/v1/ingest", OPT_OUT, key=appsmith.ingest_key).json()
    assert (first["accepted"], retry["accepted"], retry["duplicates"]) == (1, 0, 1)
    # Two installations of one version opting out in the same hour: a random message id each.
    for message_id in ("a1", "b2", "a1"):
        post("/api/v1/ingest", {**OPT_OUT, "message_id": message_id}, key=appsmith.ingest_key)
    assert Event.objects.filter(kind="opt_out").count() == 3


@pytest.mark.django_db
def test_opt_outs_are_judged_record_by_record(post: Post, appsmith: Product, clock) -> None:
    body = {"batch": [OPT_OUT, {**OPT_OUT, "version": "9" * 65}, {**OPT_OUT, "os": {"name": "linux"}},
                      {"type": "heartbeat", "instance_id": "i-1"}]}
    answer = post("/api/v1/ingest", body, key=appsmith.ingest_key).json()
    assert answer["accepted"] == 2
    assert [(e["index"], e["code"]) for e in answer["errors"]] == [(1, "invalid_field"), (2, "invalid_field")]
    alone = post("/api/v1/ingest", {**OPT_OUT, "version": "9" * 65}, key=appsmith.ingest_key)
    assert alone.status_code == 400 and alone.json()["code"] == "invalid_field"


@pytest.mark.django_db
def test_opt_outs_are_counted_per_day_and_version(post: Post, appsmith: Product, make_product, clock) -> None:
    hasura = make_product("hasura")
    batch = [{**OPT_OUT, "message_id": "o1"}, {**OPT_OUT, "message_id": "o2", "os": "darwin"},
             {**OPT_OUT, "message_id": "o3", "version": "1.8.0"}, {"type": "opt_out", "message_id": "o4"},
             {**OPT_OUT, "message_id": "o5", "timestamp": (NOW - timedelta(days=1)).isoformat()}]
    assert post("/api/v1/ingest", {"batch": batch}, key=appsmith.ingest_key).json()["accepted"] == 5
    post("/api/v1/ingest", {"type": "heartbeat", "instance_id": "i-1", "version": "1.9.2"}, key=appsmith.ingest_key)
    post("/api/v1/ingest", OPT_OUT, key=hasura.ingest_key)
    today = NOW.date()
    rollups_build(days=[today - timedelta(days=1), today], now=NOW)

    rollup = DailyRollup.objects.get(product=appsmith, day=today)
    assert (rollup.active_instances, rollup.opt_outs, rollup.events, rollup.heartbeats) == (1, 4, 0, 1)
    assert DailyRollup.objects.get(product=appsmith, day=today - timedelta(days=1)).opt_outs == 1
    assert DailyRollup.objects.get(product=hasura, day=today).opt_outs == 1
    assert by_version(appsmith, today) == {"1.9.2": 2, "1.8.0": 1, "": 1}
    assert by_version(appsmith, today - timedelta(days=1)) == {"1.9.2": 1}


def by_version(product: Product, day: date) -> dict[str, int]:
    return dict(DailyBreakdown.objects.filter(product=product, day=day, dimension="opt_out_version")
                .values_list("key", "count"))


def test_the_api_docs_describe_the_record_type_field_and_filter(db: None) -> None:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    components = schema["components"]["schemas"]
    record_type = components["NativeRecord"]["properties"]["type"]
    assert "opt_out" in record_type["enum"] and "opt_out" in record_type["description"]
    assert "opt_outs" in components["DailyRollup"]["properties"]
    assert {"country", "opt_out_version"} <= set(components["Breakdowns"]["properties"])
    assert "country" in components["Instance"]["properties"]
    filters = {p["name"] for p in schema["paths"]["/api/v1/instances/"]["get"]["parameters"]}
    assert "country" in filters


@pytest.mark.django_db
def test_the_staff_api_returns_the_dark_fleet(post: Post, appsmith: Product, staff_user, clock) -> None:
    batch = [{**OPT_OUT, "message_id": f"o{n}"} for n in range(3)] + [{**OPT_OUT, "message_id": "o9",
                                                                        "version": "1.8.0"}]
    post("/api/v1/ingest", {"batch": batch}, key=appsmith.ingest_key)
    rollups_build(days=[NOW.date()], now=NOW)
    api = APIClient()
    api.force_authenticate(staff_user)
    day = api.get("/api/v1/rollups/daily/", {"product": "appsmith"}).json()["results"][0]
    assert day["opt_outs"] == 4
    assert day["breakdowns"]["opt_out_version"] == [{"key": "1.9.2", "count": 3, "instances": 0},
                                                    {"key": "1.8.0", "count": 1, "instances": 0}]
    events = api.get("/api/v1/events/", {"kind": "opt_out"}).json()["results"]
    assert len(events) == 4 and {e["instance_id"] for e in events} == {None}
