"""A batch's answer is right at both levels, and an instance's state is right within one request."""

import pytest

from apps.instances.models import Instance, StatusChange
from apps.products.models import Notice, Product

from .conftest import NOW, Post


def heartbeat(instance_id: str, version: str, message_id: str, **fields: object) -> dict:
    return {"type": "heartbeat", "instance_id": instance_id, "version": version, "message_id": message_id,
            **fields}


@pytest.mark.django_db
def test_a_batch_is_answered_for_the_batch_and_for_each_instance(post: Post, appsmith: Product, clock) -> None:
    security = Notice.objects.create(product=appsmith, level="security", title="CVE", max_version="v1.9.20")
    webinar = Notice.objects.create(product=appsmith, title="Webinar")
    new_only = Notice.objects.create(product=appsmith, title="New features", min_version="v1.9.56")
    post("/api/v1/ingest", heartbeat("muted", "v1.9.56", "m-0"), key=appsmith.ingest_key)
    Instance.objects.filter(instance_id="muted").update(collection="heartbeat")

    answer = post("/api/v1/ingest", {"batch": [
        heartbeat("old", "v1.9.15", "m-1"), heartbeat("current", "v1.9.56", "m-2"),
        heartbeat("muted", "v1.9.56", "m-3")]}, key=appsmith.ingest_key).json()

    assert answer["outdated"] is True  # one of them is
    assert [n["id"] for n in answer["notices"]] == [security.pk, webinar.pk, new_only.pk]  # each once
    assert answer["collect"] == "heartbeat"  # the strictest of the batch
    assert (answer["latest_version"], answer["next_ping_in"], answer["accepted"]) == ("v1.9.56", 7200, 3)
    each = answer["instances"]
    assert {iid: (a["outdated"], a["collect"], [n["title"] for n in a["notices"]]) for iid, a in each.items()} == {
        "old": (True, "full", ["CVE", "Webinar"]),
        "current": (False, "full", ["Webinar", "New features"]),
        "muted": (False, "heartbeat", ["Webinar", "New features"]),
    }


@pytest.mark.django_db
def test_one_instance_is_answered_as_itself_without_instances(post: Post, appsmith: Product, clock) -> None:
    Notice.objects.create(product=appsmith, level="security", title="CVE", max_version="v1.9.20")
    answer = post("/api/v1/ingest", {"batch": [heartbeat("a", "v1.9.10", "m-1"), heartbeat("a", "v1.9.15", "m-2")]},
                  key=appsmith.ingest_key).json()
    assert "instances" not in answer
    assert (answer["outdated"], [n["title"] for n in answer["notices"]]) == (True, ["CVE"])


@pytest.mark.django_db
def test_a_new_instances_second_heartbeat_in_one_request_makes_it_active(post: Post, appsmith: Product,
                                                                         clock) -> None:
    post("/api/v1/ingest", {"batch": [
        heartbeat("twice", "v1", "m-1", timestamp="2024-01-10T11:00:00Z"),
        heartbeat("twice", "v1", "m-2", timestamp="2024-01-10T11:30:00Z"),
        heartbeat("once", "v1", "m-3", timestamp="2024-01-10T11:00:00Z"),
    ]}, key=appsmith.ingest_key)
    statuses = dict(Instance.objects.values_list("instance_id", "status"))
    assert statuses == {"twice": "active", "once": "new"}
    change = StatusChange.objects.get(instance__instance_id="twice")
    assert (change.old, change.new, change.at.isoformat()) == ("new", "active", "2024-01-10T11:30:00+00:00")
    # A retry of the same request changes nothing; a later second heartbeat activates the other.
    post("/api/v1/ingest", heartbeat("twice", "v1", "m-2", timestamp="2024-01-10T11:30:00Z"),
         key=appsmith.ingest_key)
    post("/api/v1/ingest", heartbeat("once", "v1", "m-4", timestamp=NOW.isoformat()), key=appsmith.ingest_key)
    assert dict(Instance.objects.values_list("instance_id", "status")) == {"twice": "active", "once": "active"}
    assert StatusChange.objects.count() == 2
