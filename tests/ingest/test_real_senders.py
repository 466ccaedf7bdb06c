"""What Hasura, Wasp, FlowFuse and Appsmith's own code posts, through their endpoints, field by field.

The fixtures and the source file each comes from are in `real_senders/` (see its README).
"""

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.test import Client

from apps.core.privacy import keyed_hash
from apps.events.models import Event
from apps.ingest.envelope import DEVELOPMENT_CONTEXT
from apps.instances.models import Installation, Instance
from apps.licenses.models import License
from apps.products.models import Product
from apps.rollups.models import DailyRollup
from apps.rollups.services.daily import rollups_build

from .conftest import NOW, SENDER, Post, basic

REAL = Path(__file__).parent / "real_senders"
pytestmark = pytest.mark.django_db


def real(name: str) -> Any:
    return json.loads((REAL / f"{name}.json").read_text())


def post_as_sent(client: Client, path: str, body: Any, *, content_type: str = "application/json",
                 remote_addr: str = SENDER, **headers: Any) -> Any:
    return client.post(path, data=orjson.dumps(body), content_type=content_type, REMOTE_ADDR=remote_addr, **headers)


# --- Hasura -----------------------------------------------------------------------------------------


def test_hasura_v2_server_default_source(post: Post, hasura: Product, clock) -> None:
    body = real("hasura_server_metrics_v2")
    response = post("/api/v1/ingest/hasura", body, key=hasura.ingest_key)
    assert response.status_code == 200, response.content
    assert response.json()["accepted"] == 1 and response.json()["latest_version"] == "v2.23.0"

    data = body["data"]
    instance = Instance.objects.get(product=hasura)
    assert (instance.instance_id, instance.version, instance.edition, instance.context, instance.os) == (
        "0c9e5b7a-3f2d-4e81-a6c4-7d8e9f0a1b2c", "v2.36.0", "", "", "")
    assert (instance.status, instance.heartbeat_count, instance.first_seen, instance.license) == ("new", 1, NOW, None)
    assert instance.ip_hash == keyed_hash(SENDER)
    assert instance.metrics == {"server": {**data["metrics"], "source_metadata": data["source_metadata"],
                                           "experimental_features": ["streaming_subscriptions", "naming_convention"]}}
    server = instance.metrics["server"]
    assert server["service_timings"]["serviceTimingMetrics"][0]["metrics"]["count"] == 412
    assert (server["actions"]["synchronous"], server["native_queries"]["with_parameters"],
            server["logical_models"]) == (2, 1, {"count": 3})
    event = Event.objects.get(product=hasura)
    assert (event.kind, event.name, event.instance, event.timestamp, event.received_at) == (
        "heartbeat", "hasura.server", instance, NOW, NOW)
    assert event.message_id.startswith("auto-")  # Hasura sends no id: a retry within the hour is stored once
    assert event.properties == {**{k: v for k, v in data.items() if k != "instance_uid"},
                                "topic": "server_metrics_v2"}


def test_hasura_v2_extra_source_keeps_its_own_metrics_and_a_retry_is_stored_once(
        post: Post, hasura: Product, clock) -> None:
    post("/api/v1/ingest/hasura", real("hasura_server_metrics_v2"), key=hasura.ingest_key)
    extra = real("hasura_server_metrics_v2_extra_source")
    assert post("/api/v1/ingest/hasura", extra, key=hasura.ingest_key).json()["accepted"] == 1
    retry = post("/api/v1/ingest/hasura", extra, key=hasura.ingest_key).json()
    assert (retry["accepted"], retry["duplicates"]) == (0, 1)

    instance = Instance.objects.get(product=hasura)
    assert set(instance.metrics) == {"server", "source.mssql"}
    assert instance.metrics["source.mssql"] == {**extra["data"]["metrics"],
                                                "source_metadata": extra["data"]["source_metadata"],
                                                "experimental_features": extra["data"]["experimental_features"]}
    assert instance.metrics["server"]["tables"] == 12  # the default source's figures are not overwritten
    assert (instance.heartbeat_count, instance.edition) == (2, "")
    assert Event.objects.filter(product=hasura, name="hasura.server").count() == 2


def test_hasura_v1_server_topic(post: Post, hasura: Product, clock) -> None:
    body = real("hasura_server_v1")
    assert post("/api/v1/ingest/hasura", body, key=hasura.ingest_key).status_code == 200
    instance = Instance.objects.get(product=hasura)
    assert (instance.instance_id, instance.version, instance.edition, instance.context) == (
        "6799360d-a431-40c5-9f68-24592a9f07df", "v1.3.3", "", "TRAVIS")
    assert instance.metrics == {"server": body["data"]["metrics"]}
    event = Event.objects.get(product=hasura)
    assert (event.name, event.properties["topic"], event.properties["db_uid"]) == (
        "hasura.server", "server", "dddff371-dab2-450f-9969-235bca66dab1")


def test_hasura_development_build_is_kept_filterable_and_out_of_production_counts(
        post: Post, hasura: Product, clock, admin_client: Client) -> None:
    post("/api/v1/ingest/hasura", real("hasura_server_metrics_v2"), key=hasura.ingest_key)
    dev = real("hasura_server_metrics_v2_test")
    assert post("/api/v1/ingest/hasura", dev, key=hasura.ingest_key).json()["accepted"] == 1

    development = Instance.objects.get(product=hasura, instance_id=dev["data"]["instance_uid"])
    assert (development.context, development.version, development.status) == (
        DEVELOPMENT_CONTEXT, "v2.37.0-dev-4f1d2c9", "new")
    assert Event.objects.get(instance=development).properties["topic"] == "server_metrics_v2_test"
    assert Instance.objects.filter(product=hasura).exclude(context=DEVELOPMENT_CONTEXT).count() == 1

    rollups_build(days=[NOW.date()], now=NOW + timedelta(hours=1))
    rollup = DailyRollup.objects.get(product=hasura, day=NOW.date())
    assert (rollup.active_instances, rollup.new_instances, rollup.heartbeats) == (1, 1, 1)

    page = admin_client.get("/admin/instances/instance/", {"build": "development"})
    assert page.status_code == 200
    assert dev["data"]["instance_uid"][:8].encode() in page.content
    assert b"0c9e5b7a" not in page.content


def test_hasura_cli_topic_is_an_event_linked_to_its_server(post: Post, hasura: Product, clock) -> None:
    post("/api/v1/ingest/hasura", real("hasura_server_metrics_v2"), key=hasura.ingest_key)
    body = real("hasura_cli")
    answer = post("/api/v1/ingest/hasura", body, key=hasura.ingest_key).json()
    assert answer["accepted"] == 1

    event = Event.objects.get(product=hasura, kind="event")
    instance = Instance.objects.get(product=hasura)
    assert (event.name, event.message_id, event.instance, event.timestamp) == (
        "hasura metadata apply", "ddfa9c33-0693-457d-9026-c7f456c43322", instance, NOW)
    expected = {k: v for k, v in body["data"].items() if k not in ("command", "execution_id")}
    assert event.properties == {**expected, "topic": "cli"}
    assert instance.heartbeat_count == 1  # a CLI run is not a heartbeat of the server


def test_hasura_community_v2_unwrapped_is_not_enterprise_and_a_licence_makes_it_so(
        post: Post, hasura: Product, clock) -> None:
    data = real("hasura_server_metrics_v2")["data"]
    post("/api/v1/ingest/hasura", data, key=hasura.ingest_key)
    instance = Instance.objects.get(product=hasura)
    assert (instance.edition, instance.license, set(instance.metrics)) == ("", None, {"server"})

    clock.shift(timedelta(minutes=5))
    ee = {"license_jti": "e86e5a54-ad3b-49e6-98ca-ab34b0a50f8f", "client_id": None,
          "metadata_db_uid": data["metadata_db_uid"], "instance_uid": data["instance_uid"],
          "sample_uid": "2a18421a-baff-466b-bf34-b7fd6a5c76c8", "hasura_version": "v2.36.0",
          "metrics": {"api_limits_enabled": True}}
    post("/api/v1/ingest/hasura", ee, key=hasura.ingest_key)
    instance.refresh_from_db()
    assert instance.license is not None
    assert (instance.edition, instance.license.license_id) == ("ee", "e86e5a54-ad3b-49e6-98ca-ab34b0a50f8f")
    clock.shift(timedelta(minutes=5))
    post("/api/v1/ingest/hasura", real("hasura_server_metrics_v2"), key=hasura.ingest_key)
    instance.refresh_from_db()
    assert instance.edition == "ee"  # a ping without the licence does not demote the instance


def test_hasura_unknown_topic_is_refused_by_index(post: Post, hasura: Product, clock) -> None:
    body = [real("hasura_server_metrics_v2"), {"topic": "metrics_v9", "data": {"instance_uid": "x"}}]
    answer = post("/api/v1/ingest/hasura", body, key=hasura.ingest_key).json()
    assert answer["accepted"] == 1
    assert [(e["index"], e["code"]) for e in answer["errors"]] == [(1, "unknown_topic")]


# --- Wasp ---------------------------------------------------------------------------------------------


@pytest.fixture
def wasp_configured(make_product) -> Product:
    """Wasp as the docs say to configure it for PostHog's /capture: which event names mean what."""
    return make_product("wasp", name="Wasp", heartbeat_interval=12 * 3600, latest_version="0.15.0",
                        heartbeat_events=["cli"],
                        install_events={"install-script:run": "succeeded", "npm-package:postinstall": "succeeded"})


def test_wasp_cli_posthog_capture_with_distinct_id_inside_properties(
        client: Client, wasp_configured: Product, clock) -> None:
    body = {**real("wasp_cli_capture"), "api_key": wasp_configured.ingest_key}
    response = post_as_sent(client, "/capture", body)
    assert (response.status_code, response.json()) == (200, {"status": 1})

    instance = Instance.objects.get(product=wasp_configured)
    props = body["properties"]
    assert (instance.instance_id, instance.version, instance.os, instance.context, instance.status) == (
        props["distinct_id"], "0.15.0", "linux", "CI", "new")
    assert (instance.metrics, instance.ip_hash) == ({}, keyed_hash(SENDER))
    event = Event.objects.get(product=wasp_configured)
    assert (event.kind, event.name, event.instance, event.timestamp) == ("heartbeat", "cli", instance, NOW)
    assert event.properties == props  # api_key is a credential, never stored


@pytest.mark.parametrize("fixture", ["wasp_install_script", "wasp_npm_postinstall"])
def test_wasp_installers_post_a_finished_install_run(client: Client, wasp_configured: Product, clock,
                                                     fixture: str) -> None:
    body = {**real(fixture), "api_key": wasp_configured.ingest_key}
    assert post_as_sent(client, "/capture", body).status_code == 200

    run = Installation.objects.get(product=wasp_configured)
    assert (run.install_id, run.status, run.os, run.finished_at, run.instance) == (
        body["distinct_id"], "succeeded", body["properties"]["os"], NOW, None)
    event = Event.objects.get(product=wasp_configured)
    assert (event.kind, event.name) == ("install", body["event"])
    assert event.properties == {**body["properties"], "distinct_id": body["distinct_id"]}
    assert not Instance.objects.exists()


@pytest.mark.parametrize("fixture", ["wasp_cli_capture", "wasp_install_script", "wasp_npm_postinstall"])
def test_wasp_endpoint_reads_the_same_bodies_without_any_event_setting(client: Client, wasp: Product, clock,
                                                                       fixture: str) -> None:
    body = {**real(fixture), "api_key": wasp.ingest_key}
    response = post_as_sent(client, "/api/v1/ingest/wasp", body)
    assert response.status_code == 200 and response.json()["accepted"] == 1, response.content
    if fixture == "wasp_cli_capture":
        instance = Instance.objects.get(product=wasp)
        assert (instance.instance_id, instance.version, instance.context) == (
            body["properties"]["distinct_id"], "0.15.0", "CI")
    else:
        run = Installation.objects.get(product=wasp)
        assert (run.install_id, run.status, run.os) == (body["distinct_id"], "succeeded", body["properties"]["os"])


# --- FlowFuse -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["path", "query"])
def test_flowfuse_ping_without_a_key_the_key_rides_in_the_configured_url(
        client: Client, flowfuse: Product, clock, where: str) -> None:
    body = real("flowfuse_ping")
    url = (f"/api/v1/ingest/flowfuse/{flowfuse.ingest_key}" if where == "path"
           else f"/api/v1/ingest/flowfuse?key={flowfuse.ingest_key}")
    response = post_as_sent(client, url, body)
    assert response.status_code == 200, response.content
    assert response.json()["latest_version"] == "1.2.0"

    instance = Instance.objects.get(product=flowfuse)
    assert (instance.instance_id, instance.version, instance.edition, instance.os, instance.arch) == (
        "5db51f99-c6fb-4340-9c19-78adce58cc1b", "2.6.1", "EE", "Linux", "x64")
    assert instance.metrics == {"platform": {"counts": body["platform"]["counts"],
                                             "config": body["platform"]["config"]}}
    counts = instance.metrics["platform"]["counts"]
    assert (counts["projectsByState"], counts["devicesByLastSeen"], counts["blueprints"],
            counts["teamBrokerClients"], counts["remoteBrokers"]) == ({"suspended": 1}, {"never": 2, "day": 5}, 3, 4, 1)
    licence = License.objects.get(product=flowfuse)
    assert (licence.license_id, licence.type, instance.license) == (
        "4c105579-782b-4d53-af62-cf7fa69f6b43", "EE", licence)
    event = Event.objects.get(product=flowfuse)
    assert (event.kind, event.name, event.timestamp) == ("heartbeat", "flowfuse.ping", NOW)
    assert event.properties == {k: v for k, v in body.items() if k != "instanceId"}


def test_flowfuse_community_install_has_no_licence(client: Client, flowfuse: Product, clock) -> None:
    body = real("flowfuse_ping_community")
    assert post_as_sent(client, f"/api/v1/ingest/flowfuse/{flowfuse.ingest_key}", body).status_code == 200
    instance = Instance.objects.get(product=flowfuse)
    assert (instance.edition, instance.license, instance.os, instance.arch) == ("CE", None, "Darwin", "arm64")
    assert not License.objects.exists()


def test_flowfuse_without_any_key_is_told_where_to_put_it(client: Client, flowfuse: Product) -> None:
    response = post_as_sent(client, "/api/v1/ingest/flowfuse", real("flowfuse_ping"))
    assert (response.status_code, response.json()["code"]) == (401, "missing_key")
    wrong = post_as_sent(client, "/api/v1/ingest/flowfuse/tk_not-a-key", real("flowfuse_ping"))
    assert (wrong.status_code, wrong.json()["code"]) == (401, "unknown_key")


# --- Appsmith ----------------------------------------------------------------------------------------


def test_appsmith_keep_alive_as_the_server_sends_it(client: Client, appsmith: Product, clock) -> None:
    body = real("appsmith_instance_active")
    response = post_as_sent(client, "/v1/track", body, HTTP_AUTHORIZATION=basic(appsmith.ingest_key))
    assert (response.status_code, response.json()) == (200, {"success": True})

    instance = Instance.objects.get(product=appsmith)
    assert (instance.instance_id, instance.status, instance.heartbeat_count, instance.first_seen) == (
        "65a0d2c4e1b7f94c2d3e8a10", "new", 1, NOW)
    assert instance.ip_hash == keyed_hash("203.0.113.45")  # context.ip, the server's own, hashed
    event = Event.objects.get(product=appsmith)
    assert (event.kind, event.name, event.instance, event.timestamp) == ("heartbeat", "Instance Active", instance, NOW)
    assert event.message_id.startswith("auto-")
    assert event.properties == {"instanceId": "65a0d2c4e1b7f94c2d3e8a10", "$user_id": "65a0d2c4e1b7f94c2d3e8a10",
                                "$context": {}}  # the address never stays raw
    # No messageId: the keep-alive retried within the hour is stored once.
    post_as_sent(client, "/v1/track", body, HTTP_AUTHORIZATION=basic(appsmith.ingest_key))
    assert Event.objects.filter(product=appsmith).count() == 1


def test_appsmith_instance_stats_counts_go_into_the_instance_metrics(client: Client, appsmith: Product,
                                                                     clock) -> None:
    post_as_sent(client, "/v1/track", real("appsmith_instance_active"), HTTP_AUTHORIZATION=basic(appsmith.ingest_key))
    clock.shift(timedelta(minutes=1))
    body = real("appsmith_instance_stats")
    assert post_as_sent(client, "/v1/track", body, HTTP_AUTHORIZATION=basic(appsmith.ingest_key)).status_code == 200

    instance = Instance.objects.get(product=appsmith)
    assert (instance.version, instance.edition, instance.heartbeat_count) == ("v1.9.56", "CE", 2)
    assert instance.metrics == {"instance_stats": {"numOrgs": 3, "numApps": 17, "numPages": 54, "numActions": 212,
                                                   "numDatasources": 9, "numUsers": 41}}
    event = Event.objects.get(product=appsmith, name="instance_stats")
    assert (event.kind, event.instance, event.properties["numUsers"]) == ("heartbeat", instance, 41)


def test_appsmith_installer_text_plain_with_data_and_the_address_as_user(client: Client, appsmith: Product,
                                                                         clock) -> None:
    for n, name in enumerate(("appsmith_installer_started", "appsmith_installer_error",
                              "appsmith_installer_success")):
        clock.shift(timedelta(minutes=n))
        response = post_as_sent(client, f"/v1/track?key={appsmith.ingest_key}", real(name), content_type="text/plain",
                                remote_addr="198.51.100.23")
        assert (response.status_code, response.json()) == (200, {"success": True}), response.content

    run = Installation.objects.get(product=appsmith)
    assert run.install_id == f"ip-{keyed_hash('198.51.100.23')[:32]}"  # keyed by its address, never the raw one
    assert (run.status, run.os, run.error, run.ip_hash) == (
        "succeeded", "ubuntu", "Containers not started", keyed_hash("198.51.100.23"))
    assert (run.started_at, run.finished_at) == (NOW, NOW + timedelta(minutes=3))
    events = list(Event.objects.filter(product=appsmith).order_by("timestamp"))
    assert [(e.kind, e.name) for e in events] == [("install", "Installation Started"),
                                                  ("install", "Installation Error"),
                                                  ("install", "Installation Success")]
    assert events[0].properties == {"os": "ubuntu", "platform": "docker"}  # `data` read as the properties
    assert not any("198.51.100.23" in json.dumps(e.properties) for e in events)
