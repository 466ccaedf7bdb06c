"""Collection levels set by staff, and erased instances, decide what ingest keeps."""

from datetime import timedelta

import pytest

from apps.core.privacy import keyed_hash
from apps.events.models import Event
from apps.instances.models import ErasedInstance, Instance
from apps.products.models import Product

from .conftest import NOW, Post


def ping(instance_id: str = "i-1", **fields) -> dict:
    return {"type": "heartbeat", "instance_id": instance_id, **fields}


def usage(instance_id: str = "i-1", name: str = "clicked") -> dict:
    return {"type": "event", "event": name, "instance_id": instance_id, "properties": {"button": "save"}}


@pytest.fixture
def instance(post: Post, appsmith: Product, clock) -> Instance:
    post("/api/v1/ingest", ping(version="v1", metrics={"tables": 1}, properties={"x": 1}), key=appsmith.ingest_key)
    clock.shift(timedelta(hours=1))
    return Instance.objects.get()


@pytest.mark.django_db
def test_full_keeps_everything(post: Post, appsmith: Product, instance: Instance) -> None:
    response = post("/api/v1/ingest", [ping(version="v2", metrics={"tables": 2}), usage()], key=appsmith.ingest_key)
    assert (response.json()["accepted"], response.json()["dropped"], response.json()["collect"]) == (2, 0, "full")
    instance.refresh_from_db()
    assert (instance.version, instance.metrics, instance.dropped_count) == ("v2", {"heartbeat": {"tables": 2}}, 0)
    assert Event.objects.filter(instance=instance).count() == 3


@pytest.mark.django_db
def test_heartbeat_level_keeps_liveness_and_version_only(post: Post, appsmith: Product, instance: Instance) -> None:
    Instance.objects.filter(pk=instance.pk).update(collection="heartbeat")
    response = post("/api/v1/ingest", [ping(version="v2", metrics={"tables": 2}, properties={"secret": "s"}),
                                       usage(), usage(name="other")], key=appsmith.ingest_key).json()
    assert (response["accepted"], response["dropped"], response["collect"]) == (1, 2, "heartbeat")
    instance.refresh_from_db()
    assert (instance.version, instance.last_seen, instance.heartbeat_count) == ("v2", NOW + timedelta(hours=1), 2)
    assert instance.metrics == {"heartbeat": {"tables": 1}}  # metrics not updated
    assert instance.dropped_count == 2
    latest = Event.objects.filter(instance=instance).order_by("-timestamp").first()
    assert latest is not None
    assert (latest.kind, latest.properties) == ("heartbeat", {})
    assert not Event.objects.filter(name__in=["clicked", "other"]).exists()


@pytest.mark.django_db
def test_off_stores_nothing_and_counts_the_drops(post: Post, appsmith: Product, instance: Instance) -> None:
    Instance.objects.filter(pk=instance.pk).update(collection="off")
    before = dict(Instance.objects.values().get(pk=instance.pk))
    response = post("/api/v1/ingest", [ping(version="v9"), usage()], key=appsmith.ingest_key).json()
    assert (response["accepted"], response["dropped"], response["collect"]) == (0, 2, "off")
    post("/v1/track", {"event": "clicked", "properties": {"instanceId": "i-1"}}, key=appsmith.ingest_key)
    after = dict(Instance.objects.values().get(pk=instance.pk))
    assert after["dropped_count"] == 3
    changed = {k for k in after if after[k] != before[k]}
    assert changed == {"dropped_count", "updated_at"}
    assert Event.objects.count() == 1  # only the heartbeat from before


@pytest.mark.django_db
def test_erased_instances_are_never_recreated(post: Post, appsmith: Product, clock) -> None:
    ErasedInstance.objects.create(product=appsmith, instance_hash=keyed_hash("gone-1"), erased_at=NOW)
    response = post("/api/v1/ingest", [ping("gone-1"), usage("gone-1"), ping("kept-1")], key=appsmith.ingest_key)
    body = response.json()
    assert (body["accepted"], body["dropped"]) == (1, 2)
    assert body["instances"]["gone-1"]["collect"] == "off"  # tells the client to stop
    assert list(Instance.objects.values_list("instance_id", flat=True)) == ["kept-1"]
    assert not Event.objects.filter(properties__has_key="button").exists()
    flowfuse_style = post("/api/v1/ingest", ping("gone-1"), key=appsmith.ingest_key).json()
    assert (flowfuse_style["collect"], flowfuse_style["dropped"]) == ("off", 1)
    assert not Instance.objects.filter(instance_id="gone-1").exists()
