"""Through ingest: install runs sent from a shared address are not linked to instances on a guess."""

from datetime import timedelta

import pytest
from django.test import Client

from apps.instances.models import Installation
from apps.products.models import Product

from .conftest import NOW, Post

SHARED = "203.0.113.5"  # a NAT or a shared host


def heartbeat(instance_id: str, at: str, message_id: str, **fields: object) -> dict:
    return {"type": "heartbeat", "instance_id": instance_id, "version": "v1.9.56", "timestamp": at,
            "message_id": message_id, **fields}


def step(install_id: str, name: str, at: str) -> dict:
    return {"type": "install", "install_id": install_id, "step": name, "timestamp": at}


@pytest.mark.django_db
def test_failed_runs_from_a_shared_address_stay_unlinked_and_say_why(post: Post, appsmith: Product, clock,
                                                                     client: Client, staff_user) -> None:
    key = appsmith.ingest_key
    for n in (1, 2):  # instances alive there for a day already
        post("/api/v1/ingest", heartbeat(f"alive-{n}", "2024-01-09T12:00:00Z", f"a-{n}"), key=key, remote_addr=SHARED)
    post("/api/v1/ingest", {"batch": [step("run-1", "started", "2024-01-10T10:00:00Z"),
                                      step("run-1", "failed", "2024-01-10T10:05:00Z"),
                                      step("run-2", "started", "2024-01-10T10:10:00Z"),
                                      step("run-2", "failed", "2024-01-10T10:15:00Z")]}, key=key, remote_addr=SHARED)
    for n in (1, 2):
        post("/api/v1/ingest", heartbeat(f"alive-{n}", "2024-01-10T11:00:00Z", f"b-{n}"), key=key, remote_addr=SHARED)
    # A new instance from the same address, with nothing to tell which run (if any) it came from.
    post("/api/v1/ingest", heartbeat("newcomer", "2024-01-10T11:30:00Z", "c-1"), key=key, remote_addr=SHARED)
    # One that says which run it came from.
    post("/api/v1/ingest", heartbeat("retried", "2024-01-10T11:45:00Z", "d-1", install_id="run-2"), key=key,
         remote_addr=SHARED)

    runs = {run.install_id: run for run in Installation.objects.select_related("instance")}
    assert (runs["run-1"].instance, runs["run-1"].link_reason) == (None, Installation.Link.SEVERAL_RUNS)
    retried = runs["run-2"].instance
    assert retried is not None
    assert (retried.instance_id, runs["run-2"].link_reason) == ("retried", "install_id")

    client.force_login(staff_user)
    page = client.get(f"/admin/instances/installation/{runs['run-1'].pk}/change/").content.decode()
    assert "several install runs came from the new instance&#x27;s address" in page
    listing = client.get("/admin/instances/installation/?link_reason=several_runs").content.decode()
    assert "run-1" in listing and "run-2" not in listing


@pytest.mark.django_db
def test_one_run_and_one_new_instance_from_an_address_link(post: Post, appsmith: Product, clock) -> None:
    key = appsmith.ingest_key
    post("/api/v1/ingest", {"batch": [step("only", "started", "2024-01-10T10:00:00Z"),
                                      step("only", "succeeded", "2024-01-10T10:05:00Z")]}, key=key, remote_addr=SHARED)
    clock.shift(timedelta(hours=3))
    post("/api/v1/ingest", heartbeat("server", (NOW + timedelta(hours=3)).isoformat(), "h-1"), key=key,
         remote_addr=SHARED)
    run = Installation.objects.get()
    assert run.instance is not None
    assert (run.instance.instance_id, run.link_reason) == ("server", "address")


@pytest.mark.django_db
def test_a_known_instance_reporting_a_reinstall_links_it_unless_the_run_failed(post: Post, appsmith: Product,
                                                                               clock) -> None:
    key = appsmith.ingest_key
    post("/api/v1/ingest", heartbeat("veteran", "2024-01-01T12:00:00Z", "v-1"), key=key)
    post("/api/v1/ingest", {"batch": [step("upgrade", "started", "2024-01-10T10:00:00Z"),
                                      step("upgrade", "succeeded", "2024-01-10T10:05:00Z"),
                                      step("broken", "started", "2024-01-10T10:00:00Z"),
                                      step("broken", "failed", "2024-01-10T10:05:00Z")]}, key=key)
    post("/api/v1/ingest", {"batch": [heartbeat("veteran", "2024-01-10T10:10:00Z", "v-2", install_id="upgrade"),
                                      heartbeat("veteran", "2024-01-10T10:20:00Z", "v-3", install_id="broken")]},
         key=key)
    runs = {run.install_id: (run.instance.instance_id if run.instance else None, run.link_reason)
            for run in Installation.objects.select_related("instance")}
    assert runs == {"upgrade": ("veteran", "install_id"), "broken": (None, "alive_before")}
