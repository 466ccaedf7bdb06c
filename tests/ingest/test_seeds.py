"""Every seed sample through its endpoint, and what it leaves in the database, field by field."""

from datetime import datetime, timedelta

import pytest

from apps.core.privacy import keyed_hash
from apps.events.models import Event
from apps.instances.models import Installation, Instance
from apps.licenses.models import License
from apps.products.models import Product

from .conftest import NOW, SENDER, Post, basic, seed


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def only_event(product: Product, name: str) -> Event:
    return Event.objects.get(product=product, name=name)


@pytest.mark.django_db
def test_appsmith_keepalive_is_a_heartbeat_of_its_instance(post: Post, appsmith: Product, clock) -> None:
    body = seed("appsmith_keepalive")
    response = post("/v1/track", body, key=None, HTTP_AUTHORIZATION=basic(appsmith.ingest_key))
    assert response.status_code == 200 and response.json() == {"success": True}

    instance = Instance.objects.get(product=appsmith)
    expected_time = ts("2024-01-09T07:10:17.602Z")  # properties.time, Mixpanel style
    assert (instance.instance_id, instance.status, instance.version, instance.edition) == (
        "609ce8fb4092701c69df9846", "new", "v1.9.15", "CE")
    assert (instance.first_seen, instance.last_seen, instance.heartbeat_count) == (expected_time, expected_time, 1)
    assert (instance.os, instance.arch, instance.context, instance.metrics, instance.license) == ("", "", "", {}, None)
    assert instance.ip_hash == keyed_hash(SENDER)
    event = only_event(appsmith, "FETCH_RELEASE_NOTES")
    assert (event.kind, event.message_id, event.instance, event.timestamp, event.received_at) == (
        "heartbeat", "75ddda7c-ba47-41e0-9578-7d3afaf05284", instance, expected_time, NOW)
    assert event.properties == body["properties"]


@pytest.mark.django_db
def test_appsmith_setup_ping_keeps_a_hash_of_the_server_address_and_no_personal_data(
        post: Post, appsmith: Product, clock) -> None:
    body = seed("appsmith_setup")
    assert post("/v1/track", body, key=appsmith.ingest_key).status_code == 200

    instance = Instance.objects.get(product=appsmith)
    assert (instance.instance_id, instance.status, instance.version, instance.heartbeat_count) == (
        "659cf0bd504813315c336bf7", "new", "v1.9.56", 1)
    assert instance.last_seen == ts("2024-01-09T07:08:11.249Z")
    assert instance.ip_hash == keyed_hash("117.211.16.3")  # ipAddress: the server's, hashed
    event = only_event(appsmith, "Installation Setup Complete")
    assert (event.kind, event.message_id, event.instance) == (
        "heartbeat", "d684e7ed-1211-4518-a19c-8f22925526e0", instance)
    expected = {k: v for k, v in body["properties"].items() if k not in ("ipAddress", "email", "name")}
    assert event.properties == expected


@pytest.mark.django_db
def test_appsmith_page_load_is_an_event_without_the_visitor_address(post: Post, appsmith: Product, clock) -> None:
    body = seed("appsmith_page_load")
    assert post("/v1/track", body, key=appsmith.ingest_key).status_code == 200

    event = only_event(appsmith, "APPLICATIONS_PAGE_LOAD")
    assert (event.kind, event.message_id, event.instance) == ("event", "ajs-9176c8f5ebc607524746206ea6aa7502", None)
    # originalTimestamp was 2 ms before sentAt: the event happened 2 ms before we received it.
    assert (event.timestamp, event.received_at) == (NOW - timedelta(milliseconds=2), NOW)
    context = {k: v for k, v in body["context"].items() if k != "ip"}
    assert event.properties == {"$user_id": body["userId"], "$anonymous_id": body["anonymousId"], "$context": context}
    assert not Instance.objects.exists()


@pytest.mark.django_db
def test_appsmith_backend_call_links_to_its_instance_when_known(post: Post, appsmith: Product, clock) -> None:
    body = seed("appsmith_backend_call")
    post("/api/v1/ingest", {"instance_id": "612460418944011a10fa5b", "version": "v1.9.56"}, key=appsmith.ingest_key)
    assert post("/v1/track", body, key=appsmith.ingest_key).status_code == 200

    event = only_event(appsmith, "execute_ACTION_TRIGGERED")
    assert (event.kind, event.message_id) == ("event", "0f6b07ee-0717-413-808c-c25b09c0468")
    assert event.instance == Instance.objects.get(instance_id="612460418944011a10fa5b")
    assert event.timestamp == NOW - timedelta(seconds=39.885 - 35.610)
    assert event.properties == {**body["properties"], "$user_id": body["userId"], "$context": body["context"]}


@pytest.mark.django_db
def test_appsmith_install_started_opens_an_install_run(post: Post, appsmith: Product, clock) -> None:
    body = seed("appsmith_install_started")
    assert post("/v1/batch", {"batch": [body]}, key=appsmith.ingest_key).status_code == 200

    run = Installation.objects.get(product=appsmith)
    started = ts("2020-11-04T08:05:52.726Z")
    assert (run.install_id, run.status, run.os, run.started_at, run.finished_at, run.last_seen, run.error) == (
        "anonymoustId", "started", "ubuntu", started, None, started, "")
    assert (run.ip_hash, run.instance) == (keyed_hash("111.65.255.130"), None)  # userId was the installer's IP
    event = only_event(appsmith, "Installation Started")
    assert (event.kind, event.message_id, event.instance, event.timestamp) == (
        "install", "api-1joj5LZSzuVCI9KshnaX059JYKo", None, started)
    assert event.properties == {"os": "ubuntu", "$anonymous_id": "anonymoustId", "$context": body["context"]}
    assert not Instance.objects.exists()


@pytest.mark.django_db
def test_appsmith_instance_active_is_a_heartbeat(post: Post, appsmith: Product, clock) -> None:
    body = seed("appsmith_instance_active")
    assert post("/v1/track", body, key=appsmith.ingest_key).status_code == 200

    instance = Instance.objects.get(product=appsmith)
    seen = ts("2020-11-04T08:15:49.537Z")
    assert (instance.instance_id, instance.last_seen, instance.version) == ("<uuid>", seen, "")
    assert instance.ip_hash == keyed_hash("203.192.213.46")
    event = only_event(appsmith, "Instance Active")
    assert (event.kind, event.instance, event.timestamp) == ("heartbeat", instance, seen)
    assert event.properties == {"instanceId": "<uuid>", "$context": {"library": body["context"]["library"]}}


@pytest.mark.django_db
def test_hasura_server_ping(post: Post, hasura: Product, clock) -> None:
    body = seed("hasura_server")
    response = post("/api/v1/ingest/hasura", body, key=hasura.ingest_key)
    assert response.status_code == 200
    assert response.json() == {"accepted": 1, "duplicates": 0, "dropped": 0, "errors": [], "collect": "full",
                               "latest_version": "v2.23.0", "outdated": True, "notices": [], "next_ping_in": 86400}

    instance = Instance.objects.get(product=hasura)
    seen = ts("2019-01-21T19:43:33.63838+00:00")
    assert (instance.instance_id, instance.version, instance.edition, instance.context) == (
        "6799360d-a431-40c5-9f68-24592a9f07df", "v1.0.0-alpha36", "", "TRAVIS")
    assert (instance.first_seen, instance.last_seen, instance.status, instance.license) == (seen, seen, "new", None)
    assert instance.metrics == {"server": body["metrics"]}
    event = only_event(hasura, "hasura.server")
    assert (event.kind, event.instance, event.timestamp) == ("heartbeat", instance, seen)
    assert event.message_id.startswith("auto-")  # derived from the content: no id in the payload
    assert event.properties == {k: v for k, v in body.items() if k not in ("instance_uid", "timestamp")}


@pytest.mark.django_db
def test_hasura_enterprise_pings_keep_each_kind_of_metrics_and_the_licence(
        post: Post, hasura: Product, clock) -> None:
    names = ("hasura_ee_server", "hasura_data_source", "hasura_usage")
    for name in names:
        assert post("/api/v1/ingest/hasura", seed(name), key=hasura.ingest_key).status_code == 200
        clock.shift(timedelta(seconds=1))

    instance = Instance.objects.get(product=hasura)
    assert (instance.instance_id, instance.edition, instance.heartbeat_count, instance.status) == (
        "f6d67a85-4a4f-4897-a767-89a86253b59c", "ee", 3, "active")
    assert instance.version == "12345"  # the documented samples' hasura_version, latest ping wins
    assert instance.metrics == {"ee_server": seed("hasura_ee_server")["metrics"],
                                "data_source.postgres": seed("hasura_data_source")["metrics"],
                                "usage": seed("hasura_usage")["metrics"]}
    (first_seen, last_seen) = (NOW, NOW + timedelta(seconds=2))
    assert (instance.first_seen, instance.last_seen) == (first_seen, last_seen)
    licence = License.objects.get(product=hasura)
    assert (licence.license_id, licence.type, licence.first_seen, licence.last_seen) == (
        "e86e5a54-ad3b-49e6-98ca-ab34b0a50f8f", "", first_seen, last_seen)
    assert instance.license == licence
    events = Event.objects.filter(product=hasura).order_by("timestamp")
    assert [(e.kind, e.name, e.instance_id) for e in events] == [
        ("heartbeat", "hasura.ee_server", instance.pk), ("heartbeat", "hasura.data_source", instance.pk),
        ("heartbeat", "hasura.usage", instance.pk)]
    assert events[2].properties == {k: v for k, v in seed("hasura_usage").items() if k != "instance_uid"}


@pytest.mark.django_db
def test_hasura_console_error_links_to_a_known_server_and_creates_none(post: Post, hasura: Product, clock) -> None:
    body = seed("hasura_console_error")
    post("/api/v1/ingest", {"instance_id": body["server_uuid"], "version": "v2.0.0"}, key=hasura.ingest_key)
    response = post("/api/v1/ingest/hasura", body, key=hasura.ingest_key)
    assert response.status_code == 200 and response.json()["collect"] == "full"

    event = only_event(hasura, "Main/RUN_TIME_ERROR")
    assert event.instance is not None
    assert (event.kind, event.instance.instance_id, event.timestamp) == ("event", body["server_uuid"], NOW)
    assert event.properties == {k: v for k, v in body.items() if k != "event_type"}
    assert Instance.objects.filter(product=hasura).count() == 1


@pytest.mark.django_db
def test_hasura_cli_run_is_an_event_named_by_its_command(post: Post, hasura: Product, clock) -> None:
    body = seed("hasura_cli")
    response = post("/api/v1/ingest/hasura", body, key=hasura.ingest_key)
    assert response.status_code == 200
    assert response.json()["outdated"] is True  # v0.4.27 < v2.23.0

    event = only_event(hasura, "hasura version")
    assert (event.kind, event.message_id, event.instance) == ("event", body["execution_id"], None)
    assert event.timestamp == ts("2019-01-21T11:36:07.86783+00:00")
    assert event.properties == {k: v for k, v in body.items() if k not in ("command", "execution_id", "timestamp")}
    assert not Instance.objects.exists()  # the server it talks to is unknown: not invented


@pytest.mark.django_db
def test_flowfuse_core_telemetry(post: Post, flowfuse: Product, clock) -> None:
    body = seed("flowfuse_core")
    response = post("/api/v1/ingest/flowfuse", body, key=flowfuse.ingest_key)
    assert response.status_code == 200
    assert response.json() == {"accepted": 1, "duplicates": 0, "dropped": 0, "errors": [], "collect": "full",
                               "latest_version": "1.2.0", "outdated": True, "notices": [], "next_ping_in": 86400}

    instance = Instance.objects.get(product=flowfuse)
    assert (instance.instance_id, instance.version, instance.os, instance.arch, instance.last_seen) == (
        "5db51f99-c6fb-4340-9c19-78adce58cc1b", "1.0.0", "Darwin", "x64", NOW)
    assert instance.metrics == {"platform": {"counts": body["platform"]["counts"],
                                             "config": body["platform"]["config"]}}
    assert instance.ip_hash == keyed_hash(SENDER)  # FlowFuse: only a hash of the sending address
    licence = License.objects.get(product=flowfuse)
    assert (licence.license_id, licence.type, licence.last_seen) == ("4c105579-782b-4d53-af62-cf7fa69f6b43", "DEV", NOW)
    assert instance.license == licence
    event = only_event(flowfuse, "flowfuse.ping")
    assert (event.kind, event.instance, event.timestamp) == ("heartbeat", instance, NOW)
    assert event.properties == {k: v for k, v in body.items() if k != "instanceId"}


@pytest.mark.django_db
def test_wasp_cli_ping_is_a_heartbeat_of_the_cli_installation(post: Post, wasp: Product, clock) -> None:
    body = seed("wasp_cli")
    response = post("/api/v1/ingest/wasp", body, key=wasp.ingest_key)
    assert response.status_code == 200
    assert response.json() == {"accepted": 1, "duplicates": 0, "dropped": 0, "errors": [], "collect": "full",
                               "latest_version": "0.2.0", "outdated": True, "notices": [], "next_ping_in": 43200}

    instance = Instance.objects.get(product=wasp)
    assert (instance.instance_id, instance.version, instance.os, instance.context, instance.last_seen) == (
        "bf3fa7a8-1c11-4f82-9542-ec1a2d28786b", "0.1.9.1", "linux", "CI", NOW)
    event = only_event(wasp, "wasp.cli")
    assert (event.kind, event.instance) == ("heartbeat", instance)
    assert event.properties == {k: v for k, v in body.items() if k != "distinct_id"}


@pytest.mark.django_db
def test_wasp_install_ping_is_a_finished_install_run(post: Post, wasp: Product, clock) -> None:
    assert post("/api/v1/ingest/wasp", seed("wasp_install"), key=wasp.ingest_key).status_code == 200

    run = Installation.objects.get(product=wasp)
    assert (run.install_id, run.status, run.os, run.started_at, run.finished_at, run.instance) == (
        "274701613078193779564259", "succeeded", "linux", NOW, NOW, None)
    event = only_event(wasp, "wasp.install")
    assert (event.kind, event.instance, event.properties) == ("install", None, {"os": "linux"})
    assert not Instance.objects.exists()


@pytest.mark.django_db
def test_wasp_deploy_args_keep_only_documented_keywords(post: Post, wasp: Product, clock) -> None:
    body = {**seed("wasp_cli"), "deploy_cmd_args": "fly;deploy;--org=acme-corp;my-secret-app;create-db"}
    post("/api/v1/ingest/wasp", body, key=wasp.ingest_key)
    assert only_event(wasp, "wasp.cli").properties["deploy_cmd_args"] == "fly;deploy;create-db"


@pytest.mark.django_db
def test_wasp_events_as_its_cli_sends_them_to_posthog(post: Post, wasp: Product, clock) -> None:
    """The real CLI posts `{"event": "cli", "properties": {...}}` to PostHog; both endpoints understand it."""
    cli = {"api_key": wasp.ingest_key, "event": "cli", "properties": seed("wasp_cli")}
    install = {"api_key": wasp.ingest_key, "event": "install", "properties": seed("wasp_install")}
    assert post("/capture/", cli, key=None).json() == {"status": 1}
    assert post("/api/v1/ingest/wasp", install, key=None).status_code == 200

    instance = Instance.objects.get(product=wasp)
    assert (instance.instance_id, instance.version, instance.os) == (
        "bf3fa7a8-1c11-4f82-9542-ec1a2d28786b", "0.1.9.1", "linux")
    assert Installation.objects.get(product=wasp).status == "succeeded"
