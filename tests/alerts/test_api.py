"""The staff API of alerting: channels (+ test), rules, alerts with their notifications, and labels."""

from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from apps.alerts.models import Alert, AlertChannel, AlertRule, Notification
from apps.alerts.services import alerts_evaluate_status_changes
from apps.instances.models import Instance
from apps.instances.services import instances_check_heartbeats
from apps.products.models import Product

from .conftest import Receiver

NOW = datetime(2024, 6, 3, 12, 0, tzinfo=UTC)


@pytest.fixture
def api(staff_user) -> APIClient:
    client = APIClient()
    client.force_authenticate(staff_user)
    return client


@pytest.mark.django_db
def test_channel_crud_and_a_generated_webhook_secret(api: APIClient) -> None:
    created = api.post("/api/v1/alert-channels/", {"name": "hook", "kind": "webhook",
                                                   "target": "https://hooks.example.com/t"}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["kind"] == "webhook" and len(body["secret"]) >= 32 and body["failing"] is False
    url = f"/api/v1/alert-channels/{body['id']}/"
    assert api.patch(url, {"name": "renamed", "secret": "mine"}, format="json").json()["secret"] == "mine"
    assert api.get(url).json()["name"] == "renamed"
    assert [c["id"] for c in api.get("/api/v1/alert-channels/").json()["results"]] == [body["id"]]
    assert api.delete(url).status_code == 204 and not AlertChannel.objects.exists()
    email = api.post("/api/v1/alert-channels/", {"name": "mail", "kind": "email",
                                                 "target": "a@example.com, b@example.com"}, format="json")
    assert email.status_code == 201 and email.json()["secret"] == ""


@pytest.mark.django_db
@pytest.mark.parametrize("body", [
    {"name": "x", "kind": "pager", "target": "https://x.example.com"},
    {"name": "x", "kind": "webhook", "target": "ftp://x.example.com"},
    {"name": "x", "kind": "slack", "target": "not a url"},
    {"name": "x", "kind": "email", "target": "ops@, nobody"},
    {"name": "x", "kind": "email", "target": ""},
    {"kind": "email", "target": "a@example.com"},
])
def test_bad_channels_are_400(api: APIClient, body: dict) -> None:
    response = api.post("/api/v1/alert-channels/", body, format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    assert not AlertChannel.objects.exists()


@pytest.mark.django_db
def test_patching_a_channel_checks_the_target_against_its_kind(api: APIClient) -> None:
    channel = AlertChannel.objects.create(name="mail", kind="email", target="a@example.com")
    response = api.patch(f"/api/v1/alert-channels/{channel.pk}/", {"kind": "webhook"}, format="json")
    assert response.status_code == 400


@pytest.mark.django_db
def test_channel_test_endpoint_sends_and_answers_what_happened(api: APIClient, receiver: Receiver,
                                                               webhook: AlertChannel) -> None:
    ok = api.post(f"/api/v1/alert-channels/{webhook.pk}/test/").json()
    assert ok["delivered"] is True and ok["status_code"] == 200 and ok["error"] == ""
    assert receiver.requests[0].json["alert"]["state"] == "test"
    receiver.answers = [500]
    failed = api.post(f"/api/v1/alert-channels/{webhook.pk}/test/").json()
    assert failed["delivered"] is False and failed["status_code"] == 500 and failed["error"] == "HTTP 500"
    assert list(Notification.objects.order_by("pk").values_list("event", "outcome")) == [
        ("test", "sent"), ("test", "failed")]


@pytest.mark.django_db
def test_channel_test_to_an_unreachable_receiver_says_why(api: APIClient) -> None:
    channel = AlertChannel.objects.create(name="down", kind="slack", target="http://127.0.0.1:9/nothing")
    answer = api.post(f"/api/v1/alert-channels/{channel.pk}/test/").json()
    assert answer["delivered"] is False and answer["status_code"] is None and "URLError" in answer["error"]


@pytest.mark.django_db
def test_rule_crud_fills_defaults_and_checks_params(api: APIClient, product: Product) -> None:
    channel = AlertChannel.objects.create(name="mail", kind="email", target="a@example.com")
    created = api.post("/api/v1/alert-rules/", {
        "product": "appsmith", "name": "fleet drop", "kind": "metric", "channels": [channel.pk],
        "params": {"metric": "active_instances", "condition": "drop_pct", "threshold": 20}}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["params"] == {"metric": "active_instances", "condition": "drop_pct", "threshold": 20.0, "days": 7}
    assert body["channels"] == [channel.pk] and body["enabled"] is True and body["product"] == "appsmith"
    url = f"/api/v1/alert-rules/{body['id']}/"
    assert api.patch(url, {"enabled": False}, format="json").json()["enabled"] is False
    assert api.patch(url, {"params": {"metric": "nope", "condition": "above", "threshold": 1}},
                     format="json").status_code == 400
    changed = api.patch(url, {"kind": "instance_status", "params": {"selector": {"label": "paying"}}}, format="json")
    assert changed.json()["params"] == {"selector": {"label": "paying"}}
    assert api.get("/api/v1/alert-rules/", {"product": "appsmith", "kind": "instance_status"}).json()["count"] == 1
    assert api.delete(url).status_code == 204 and not AlertRule.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize(("kind", "params"), [
    ("instance_status", {"selector": {"color": "red"}}),
    ("instance_status", {"selector": {"label": ""}}),
    ("instance_status", {"selector": "all"}),
    ("metric", {"metric": "active_instances", "condition": "sideways", "threshold": 1}),
    ("metric", {"metric": "active_instances", "condition": "drop_pct", "threshold": 120}),
    ("metric", {"metric": "active_instances", "condition": "above"}),
    ("install_success_rate", {"threshold": "high"}),
    ("install_success_rate", {"threshold": 80, "window_hours": 0}),
    ("uptime", {}),
])
def test_bad_rules_are_400(api: APIClient, product: Product, kind: str, params: dict) -> None:
    response = api.post("/api/v1/alert-rules/", {"product": "appsmith", "name": "r", "kind": kind,
                                                 "params": params}, format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid"


@pytest.mark.django_db
def test_rules_need_an_existing_product_and_channels(api: APIClient, product: Product) -> None:
    base = {"name": "r", "kind": "instance_status", "params": {"selector": {}}}
    assert api.post("/api/v1/alert-rules/", {**base, "product": "nope"}, format="json").status_code == 400
    assert api.post("/api/v1/alert-rules/", {**base, "product": "appsmith", "channels": [999]},
                    format="json").status_code == 400


@pytest.fixture
def fired(product: Product, make_rule) -> Alert:
    channel = AlertChannel.objects.create(name="mail", kind="email", target="ops@example.com")
    Instance.objects.create(product=product, instance_id="gone", first_seen=NOW - timedelta(days=3),
                            last_seen=NOW - timedelta(days=1), status="active")
    make_rule(channels=[channel], name="watch all")
    instances_check_heartbeats(now=NOW)
    alerts_evaluate_status_changes(now=NOW)
    return Alert.objects.get()


@pytest.mark.django_db
def test_alerts_list_with_filters_and_notifications(api: APIClient, fired: Alert, product: Product,
                                                    make_product) -> None:
    listed = api.get("/api/v1/alerts/").json()["results"]
    assert len(listed) == 1
    alert = listed[0]
    assert alert["state"] == "firing" and alert["rule"] == fired.rule_id and alert["product"] == "appsmith"
    assert alert["kind"] == "instance_status" and alert["instance_count"] == 1
    assert [i["instance_id"] for i in alert["instances"]] == ["gone"]
    assert alert["notifications"] == [{
        "id": alert["notifications"][0]["id"], "channel": fired.rule.channels.get().pk, "channel_name": "mail",
        "event": "firing", "created_at": "2024-06-03T12:00:00Z", "sent_at": None, "attempts": 0,
        "outcome": "pending", "deliveries": []}]
    assert api.get("/api/v1/alerts/", {"state": "resolved"}).json()["results"] == []
    assert api.get("/api/v1/alerts/", {"rule": fired.rule_id}).json()["count"] == 1
    assert api.get("/api/v1/alerts/", {"product": "other"}).json()["count"] == 0
    assert api.get("/api/v1/alerts/", {"state": "open"}).status_code == 400
    assert api.get("/api/v1/alerts/", {"rule": "x"}).status_code == 400
    assert api.get(f"/api/v1/alerts/{fired.pk}/").json()["id"] == fired.pk


@pytest.mark.django_db
def test_alerts_list_runs_a_fixed_number_of_queries(api: APIClient, fired: Alert, product: Product,
                                                    make_rule) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        api.get("/api/v1/alerts/")
    for n in range(5):
        rule = make_rule(name=f"r{n}", channels=list(AlertChannel.objects.all()))
        Alert.objects.create(rule=rule, product=product, summary="s", fired_at=NOW)
    with CaptureQueriesContext(connection) as many:
        api.get("/api/v1/alerts/")
    assert len(many.captured_queries) == len(few.captured_queries)


@pytest.mark.django_db
def test_acknowledge_and_mute(api: APIClient, fired: Alert) -> None:
    acked = api.post(f"/api/v1/alerts/{fired.pk}/acknowledge/").json()
    assert acked["acknowledged_at"] is not None
    muted = api.post(f"/api/v1/alerts/{fired.pk}/mute/", {"minutes": 90}, format="json").json()
    assert muted["muted_until"] is not None
    assert api.post(f"/api/v1/alerts/{fired.pk}/mute/", {"minutes": 0}, format="json").status_code == 400
    assert api.post(f"/api/v1/alerts/{fired.pk}/unmute/").json()["muted_until"] is None


@pytest.mark.django_db
def test_labels_are_set_by_patch_and_filtered_by_label(api: APIClient, product: Product) -> None:
    a = Instance.objects.create(product=product, instance_id="a", first_seen=NOW, last_seen=NOW)
    Instance.objects.create(product=product, instance_id="b", first_seen=NOW, last_seen=NOW)
    response = api.patch(f"/api/v1/instances/{a.pk}/", {"labels": [" paying ", "acme", "paying"]}, format="json")
    assert response.status_code == 200 and response.json()["labels"] == ["acme", "paying"]
    assert response.json()["collection"] == "full"  # labels alone leave the collection level as it is
    assert [i["instance_id"] for i in api.get("/api/v1/instances/", {"label": "paying"}).json()["results"]] == ["a"]
    assert api.get("/api/v1/instances/", {"label": "nobody"}).json()["count"] == 0
    cleared = api.patch(f"/api/v1/instances/{a.pk}/", {"labels": []}, format="json").json()
    assert cleared["labels"] == []
    both = api.patch(f"/api/v1/instances/{a.pk}/", {"labels": ["x"], "collection": "heartbeat", "reason": "asked"},
                     format="json").json()
    assert both["labels"] == ["x"] and both["collection"] == "heartbeat"


@pytest.mark.django_db
def test_the_api_is_staff_only(product: Product) -> None:
    from django.contrib.auth import get_user_model

    member = get_user_model().objects.create_user(username="m", password="member-pass-123")
    client = APIClient()
    client.force_authenticate(member)
    for path in ("/api/v1/alert-channels/", "/api/v1/alert-rules/", "/api/v1/alerts/"):
        assert client.get(path).status_code == 403
        assert APIClient().get(path).status_code == 401
