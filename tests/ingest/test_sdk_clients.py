"""The real Segment and PostHog client libraries, pointed at a live server, store each event exactly once."""

import uuid
from datetime import UTC, datetime

import posthog.request
import pytest
import requests
import segment.analytics.request
from posthog import Posthog
from segment.analytics.client import Client as SegmentClient
from segment.analytics.request import post as segment_post

from apps.events.models import Event
from apps.instances.models import Installation, Instance
from apps.products.models import Product

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def close_sdk_connections():
    """The SDKs keep pooled keep-alive connections; close them before the live server stops."""
    yield
    segment.analytics.request._session.close()
    posthog.request._get_session().close()


@pytest.fixture
def appsmith_live(db: None) -> Product:
    return Product.objects.create(slug="appsmith", name="Appsmith", latest_version="v1.9.56")


@pytest.fixture
def wasp_live(db: None) -> Product:
    return Product.objects.create(slug="wasp", name="Wasp", heartbeat_events=["cli"],
                                  install_events={"install": "succeeded"})


@pytest.mark.parametrize("gzip", [False, True])
def test_segment_python_client(live_server, appsmith_live: Product, gzip: bool) -> None:
    errors: list[Exception] = []
    client = SegmentClient(write_key=appsmith_live.ingest_key, host=live_server.url, sync_mode=True, gzip=gzip,
                           max_retries=0, on_error=lambda error, batch: errors.append(error))
    ids = [str(uuid.uuid4()) for _ in range(4)]
    client.track(user_id="u-1", event="FETCH_RELEASE_NOTES", message_id=ids[0],
                 properties={"instanceId": "inst-1", "version": "v1.9.15", "edition": "CE"})
    client.track(anonymous_id="install-1", event="Installation Started", message_id=ids[1],
                 properties={"os": "ubuntu"})
    client.identify(user_id="u-1", traits={"role": "admin", "email": "jane@example.com"}, message_id=ids[2])
    client.page(user_id="u-1", name="Home", properties={"path": "/"}, message_id=ids[3])
    client.flush()
    assert errors == []

    events = {e.message_id: e for e in Event.objects.filter(product=appsmith_live)}
    assert set(events) == set(ids)
    assert [(events[i].kind, events[i].name) for i in ids] == [
        ("heartbeat", "FETCH_RELEASE_NOTES"), ("install", "Installation Started"), ("event", "$identify"),
        ("event", "$page")]
    assert events[ids[2]].properties == {"role": "admin", "$user_id": "u-1",
                                         "$context": events[ids[2]].properties["$context"]}
    assert events[ids[3]].properties["name"] == "Home"
    instance = Instance.objects.get(product=appsmith_live)
    assert (instance.instance_id, instance.version, instance.edition, instance.heartbeat_count) == (
        "inst-1", "v1.9.15", "CE", 1)
    assert Installation.objects.get(product=appsmith_live).install_id == "install-1"

    # The library retrying the same batch (same message ids) stores nothing twice.
    again = [{"type": "track", "userId": "u-1", "event": "FETCH_RELEASE_NOTES", "messageId": ids[0],
              "properties": {"instanceId": "inst-1", "version": "v1.9.15"}}]
    response = segment_post(appsmith_live.ingest_key, host=live_server.url, gzip=gzip, batch=again)
    assert response.json() == {"success": True}
    assert Event.objects.filter(product=appsmith_live).count() == 4
    assert Instance.objects.get(product=appsmith_live).heartbeat_count == 1


@pytest.mark.parametrize("gzip", [False, True])
def test_posthog_python_client(live_server, wasp_live: Product, gzip: bool) -> None:
    errors: list[Exception] = []
    client = Posthog(wasp_live.ingest_key, host=live_server.url, sync_mode=True, gzip=gzip, max_retries=0,
                     on_error=lambda error, batch: errors.append(error))
    cli_id, install_id, other_id = (str(uuid.uuid4()) for _ in range(3))
    sent = datetime(2024, 1, 9, 12, 0, tzinfo=UTC)
    client.capture("cli", distinct_id="user-1", uuid=cli_id, timestamp=sent,
                   properties={"wasp_version": "0.1.9.1", "os": "linux", "is_build": True,
                               "deploy_cmd_args": "fly;deploy;--secret"})
    client.capture("install", distinct_id="install-9", uuid=install_id, properties={"os": "darwin"})
    client.capture("$pageview", distinct_id="user-1", uuid=other_id, properties={"$current_url": "https://x.test/"})
    client.flush()
    client.shutdown()
    assert errors == []

    events = {e.message_id: e for e in Event.objects.filter(product=wasp_live)}
    assert set(events) == {cli_id, install_id, other_id}
    assert [(events[i].kind, events[i].name) for i in (cli_id, install_id, other_id)] == [
        ("heartbeat", "cli"), ("install", "install"), ("event", "$pageview")]
    assert events[cli_id].properties["deploy_cmd_args"] == "fly;deploy"
    instance = Instance.objects.get(product=wasp_live)
    assert (instance.instance_id, instance.version, instance.os, instance.heartbeat_count) == (
        "user-1", "0.1.9.1", "linux", 1)
    assert Installation.objects.get(product=wasp_live).status == "succeeded"

    # A retried upload of the same events is acknowledged and stored nothing twice.
    retry = {"api_key": wasp_live.ingest_key, "batch": [
        {"event": "cli", "distinct_id": "user-1", "uuid": cli_id, "properties": {"wasp_version": "0.1.9.1"}}]}
    response = requests.post(f"{live_server.url}/batch", json=retry, timeout=10)
    assert (response.status_code, response.json()) == (200, {"status": 1})
    assert Event.objects.filter(product=wasp_live).count() == 3
    assert Instance.objects.get(product=wasp_live).heartbeat_count == 1
