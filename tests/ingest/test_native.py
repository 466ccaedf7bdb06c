"""The native protocol and what the pipeline and writer do with it: dedupe, time, instance state."""

from datetime import timedelta

import pytest

from apps.events.models import Event
from apps.instances.models import Installation, Instance, InstanceStatus, StatusChange
from apps.licenses.models import License
from apps.products.models import Product

from .conftest import NOW, Post


def heartbeat(instance_id: str = "i-1", **fields) -> dict:
    return {"type": "heartbeat", "instance_id": instance_id, **fields}


@pytest.mark.django_db
def test_answer_counts_and_two_way_fields(post: Post, appsmith: Product, clock) -> None:
    response = post("/api/v1/ingest", heartbeat(version="v1.9.15", message_id="m-1"), key=appsmith.ingest_key)
    assert response.json() == {"accepted": 1, "duplicates": 0, "dropped": 0, "errors": [], "collect": "full",
                               "latest_version": "v1.9.56", "outdated": True, "notices": [], "next_ping_in": 7200}
    event_only = post("/api/v1/ingest", {"type": "event", "event": "clicked"}, key=appsmith.ingest_key)
    assert event_only.json() == {"accepted": 1, "duplicates": 0, "dropped": 0, "errors": []}


@pytest.mark.django_db
def test_message_ids_are_stored_once_per_product(post: Post, appsmith: Product, hasura: Product, clock) -> None:
    body = heartbeat(message_id="m-1", version="v1")
    assert post("/api/v1/ingest", body, key=appsmith.ingest_key).json()["accepted"] == 1
    clock.shift(timedelta(minutes=5))
    again = post("/api/v1/ingest", {"batch": [body, body]}, key=appsmith.ingest_key).json()
    assert (again["accepted"], again["duplicates"]) == (0, 2)
    assert post("/api/v1/ingest", body, key=hasura.ingest_key).json()["accepted"] == 1  # another product
    assert Event.objects.filter(product=appsmith).count() == 1
    instance = Instance.objects.get(product=appsmith)
    # A retried heartbeat is not a new sign of life: no count, no status change.
    assert (instance.heartbeat_count, instance.status, instance.last_seen) == (1, "new", NOW)


@pytest.mark.django_db
def test_payloads_without_ids_get_a_deterministic_one(post: Post, appsmith: Product, clock) -> None:
    with_time = {"type": "event", "event": "clicked", "timestamp": "2024-01-09T10:00:00Z", "properties": {"a": 1}}
    without_time = {"type": "event", "event": "opened", "properties": {"b": 2}}
    for _ in range(2):
        post("/api/v1/ingest", {"batch": [with_time, without_time]}, key=appsmith.ingest_key)
    assert Event.objects.count() == 2
    ids = set(Event.objects.values_list("message_id", flat=True))
    assert all(i.startswith("auto-") for i in ids)
    # Different content, different id; the same timeless content an hour later is a new event.
    post("/api/v1/ingest", {**with_time, "properties": {"a": 2}}, key=appsmith.ingest_key)
    clock.shift(timedelta(hours=1))
    post("/api/v1/ingest", without_time, key=appsmith.ingest_key)
    assert Event.objects.count() == 4


@pytest.mark.django_db
def test_clock_skew_is_corrected_with_sent_at(post: Post, appsmith: Product, clock) -> None:
    # The client's clock is 3 hours behind: it sent at 09:00 (its time) an event it recorded at 08:59.
    batch = {"sent_at": "2024-01-10T09:00:00Z", "batch": [
        heartbeat(timestamp="2024-01-10T08:59:00Z", message_id="a"),
        {"type": "event", "event": "late", "timestamp": "2024-01-10T08:00:00Z", "message_id": "b",
         "sent_at": "2024-01-10T08:30:00Z"}]}
    post("/api/v1/ingest", batch, key=appsmith.ingest_key)
    assert Event.objects.get(message_id="a").timestamp == NOW - timedelta(minutes=1)
    assert Event.objects.get(message_id="b").timestamp == NOW - timedelta(minutes=30)  # its own sent_at wins
    assert Instance.objects.get().last_seen == NOW - timedelta(minutes=1)


@pytest.mark.django_db
def test_future_timestamps_are_clamped_to_receive_time(post: Post, appsmith: Product, clock) -> None:
    batch = [heartbeat(timestamp="2024-01-12T12:00:00Z", message_id="far"),
             {"type": "event", "event": "soon", "timestamp": "2024-01-10T20:00:00Z", "message_id": "near"},
             {"type": "event", "event": "epoch", "timestamp": 1704888000000, "message_id": "ms"}]
    post("/api/v1/ingest", batch, key=appsmith.ingest_key)
    times = dict(Event.objects.values_list("message_id", "timestamp"))
    assert times["far"] == NOW  # two days ahead: clamped
    assert times["near"] == NOW + timedelta(hours=8)  # within a day: kept
    assert times["ms"] == NOW  # epoch milliseconds
    assert Instance.objects.get().last_seen == NOW


@pytest.mark.django_db
def test_status_new_then_active_and_resurrection(post: Post, appsmith: Product, clock) -> None:
    post("/api/v1/ingest", heartbeat(), key=appsmith.ingest_key)
    instance = Instance.objects.get()
    assert (instance.status, instance.heartbeat_count) == ("new", 1)
    clock.shift(timedelta(hours=2))
    post("/api/v1/ingest", heartbeat(), key=appsmith.ingest_key)
    instance.refresh_from_db()
    assert (instance.status, instance.heartbeat_count, instance.status_changed_at) == (
        "active", 2, NOW + timedelta(hours=2))
    # The heartbeat checker declared it dead; a new heartbeat brings it back.
    Instance.objects.filter(pk=instance.pk).update(status=InstanceStatus.DEAD)
    clock.shift(timedelta(days=40))
    post("/api/v1/ingest", heartbeat(), key=appsmith.ingest_key)
    instance.refresh_from_db()
    assert instance.status == "active"
    changes = list(StatusChange.objects.filter(instance=instance).order_by("at").values_list("old", "new", "at"))
    assert changes == [("new", "active", NOW + timedelta(hours=2)),
                       ("dead", "active", NOW + timedelta(days=40, hours=2))]
    assert StatusChange.objects.get(new="active", old="dead").is_resurrection


@pytest.mark.django_db
def test_delayed_old_heartbeat_does_not_roll_back_version_or_last_seen(post: Post, appsmith: Product, clock) -> None:
    post("/api/v1/ingest", heartbeat(version="v2.0", os="linux"), key=appsmith.ingest_key)
    clock.shift(timedelta(hours=1))
    post("/api/v1/ingest", heartbeat(version="v1.0", os="windows", timestamp="2024-01-09T12:00:00Z"),
         key=appsmith.ingest_key)
    instance = Instance.objects.get()
    assert (instance.version, instance.os, instance.last_seen, instance.first_seen) == (
        "v2.0", "linux", NOW, NOW - timedelta(days=1))
    assert (instance.heartbeat_count, instance.status) == (2, "new")  # counted, but not a newer sign of life


@pytest.mark.django_db
def test_metrics_of_different_heartbeats_live_side_by_side(post: Post, appsmith: Product, clock) -> None:
    post("/api/v1/ingest", heartbeat(event="server", metrics={"tables": 2}), key=appsmith.ingest_key)
    clock.shift(timedelta(minutes=1))
    post("/api/v1/ingest", heartbeat(event="usage", metrics={"requests": 10}), key=appsmith.ingest_key)
    clock.shift(timedelta(minutes=1))
    post("/api/v1/ingest", heartbeat(event="server", metrics={"tables": 5}), key=appsmith.ingest_key)
    clock.shift(timedelta(minutes=1))
    post("/api/v1/ingest", heartbeat(), key=appsmith.ingest_key)  # no metrics: keeps them
    assert Instance.objects.get().metrics == {"server": {"tables": 5}, "usage": {"requests": 10}}


@pytest.mark.django_db
def test_licence_is_created_updated_and_linked(post: Post, appsmith: Product, clock) -> None:
    post("/api/v1/ingest", heartbeat(license={"id": "lic-1", "type": "DEV"}), key=appsmith.ingest_key)
    clock.shift(timedelta(days=1))
    post("/api/v1/ingest", {"batch": [heartbeat(license={"id": "lic-1", "type": "ENTERPRISE"}),
                                      heartbeat("i-2", license={"id": "lic-1"})]}, key=appsmith.ingest_key)
    licence = License.objects.get()
    assert (licence.license_id, licence.type, licence.first_seen, licence.last_seen) == (
        "lic-1", "ENTERPRISE", NOW, NOW + timedelta(days=1))
    assert set(licence.instances.values_list("instance_id", flat=True)) == {"i-1", "i-2"}


@pytest.mark.django_db
def test_one_batch_many_instances(post: Post, appsmith: Product, clock) -> None:
    batch = [heartbeat(f"i-{n}", version=f"1.{n}", message_id=f"m-{n}") for n in range(50)]
    response = post("/api/v1/ingest", {"batch": batch}, key=appsmith.ingest_key)
    assert response.json()["accepted"] == 50
    assert set(response.json()["instances"]) == {f"i-{n}" for n in range(50)}
    assert dict(Instance.objects.values_list("instance_id", "version")) == {f"i-{n}": f"1.{n}" for n in range(50)}


@pytest.mark.django_db
def test_install_funnel_and_link_to_the_instance(post: Post, appsmith: Product, clock) -> None:
    steps = [{"type": "install", "install_id": "run-1", "step": "started", "os": "ubuntu",
              "timestamp": "2024-01-10T11:00:00Z"},
             {"type": "install", "install_id": "run-1", "step": "failed", "error": "port 80 in use",
              "timestamp": "2024-01-10T11:01:00Z"},
             {"type": "install", "install_id": "run-1", "step": "succeeded", "timestamp": "2024-01-10T11:05:00Z"}]
    post("/api/v1/ingest", {"batch": steps[:2]}, key=appsmith.ingest_key)
    run = Installation.objects.get()
    assert (run.status, run.error, run.os, run.finished_at) == ("failed", "port 80 in use", "ubuntu",
                                                                NOW - timedelta(minutes=59))
    post("/api/v1/ingest", steps[2], key=appsmith.ingest_key)
    post("/api/v1/ingest", steps[0], key=appsmith.ingest_key)  # a late retry of the start changes nothing
    run.refresh_from_db()
    assert (run.status, run.started_at, run.finished_at, run.last_seen) == (
        "succeeded", NOW - timedelta(hours=1), NOW - timedelta(minutes=55), NOW - timedelta(minutes=55))
    post("/api/v1/ingest", {**heartbeat("i-9"), "install_id": "run-1"}, key=appsmith.ingest_key)
    run.refresh_from_db()
    assert run.instance == Instance.objects.get(instance_id="i-9")


@pytest.mark.django_db
def test_appsmith_installer_links_to_setup_ping_by_server_address(post: Post, appsmith: Product, clock) -> None:
    install = {"type": "track", "event": "Installation Success", "anonymousId": "anon-7", "userId": "192.0.2.10",
               "properties": {"os": "ubuntu"}}
    setup = {"type": "track", "event": "Installation Setup Complete",
             "properties": {"instanceId": "inst-7", "ipAddress": "192.0.2.10", "version": "v1.9.56"}}
    other = {**install, "anonymousId": "anon-8", "userId": "192.0.2.99"}
    post("/v1/batch", {"batch": [install, other]}, key=appsmith.ingest_key)
    post("/v1/track", setup, key=appsmith.ingest_key)
    runs = dict(Installation.objects.values_list("install_id", "instance__instance_id"))
    assert runs == {"anon-7": "inst-7", "anon-8": None}
    assert Installation.objects.get(install_id="anon-7").status == "succeeded"


@pytest.mark.django_db
def test_long_descriptive_fields_only_matter_for_heartbeats(post: Post, appsmith: Product) -> None:
    event = {"type": "event", "event": "clicked", "version": "v" * 100}
    assert post("/api/v1/ingest", event, key=appsmith.ingest_key).json()["accepted"] == 1
    beat = post("/api/v1/ingest", heartbeat(version="v" * 100), key=appsmith.ingest_key)
    assert beat.status_code == 400 and beat.json()["code"] == "invalid_field"
