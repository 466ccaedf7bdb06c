from datetime import UTC, datetime

import pytest
from django.test import Client

from apps.instances.models import CollectionChange, Instance
from apps.instances.services import instances_set_collection
from apps.products.models import Product

NOW = datetime(2024, 1, 9, tzinfo=UTC)


@pytest.fixture
def fleet(product: Product) -> list[Instance]:
    return [Instance.objects.create(product=product, instance_id=f"i-{n}", first_seen=NOW, last_seen=NOW)
            for n in range(3)]


@pytest.mark.django_db
def test_set_collection_audits_only_real_changes(fleet: list[Instance], staff_user) -> None:
    fleet[0].collection = "off"
    fleet[0].save()
    changed = instances_set_collection(instance_ids=[i.pk for i in fleet], level="off", reason="GDPR request",
                                       user=staff_user, now=NOW)
    assert changed == 2
    audits = CollectionChange.objects.order_by("instance_id")
    assert [(a.instance_id, a.old, a.new, a.reason, a.changed_by_id) for a in audits] == [
        (fleet[1].pk, "full", "off", "GDPR request", staff_user.pk),
        (fleet[2].pk, "full", "off", "GDPR request", staff_user.pk),
    ]
    assert instances_set_collection(instance_ids=[i.pk for i in fleet], level="off", reason="again",
                                    user=staff_user, now=NOW) == 0


@pytest.mark.django_db
def test_admin_action_sets_collection_with_reason(client: Client, fleet: list[Instance], staff_user) -> None:
    client.force_login(staff_user)
    url = "/admin/instances/instance/"
    ids = [str(fleet[0].pk), str(fleet[1].pk)]
    confirm = client.post(url, {"action": "set_collection_level", "_selected_action": ids})
    assert confirm.status_code == 200 and b"reason" in confirm.content
    done = client.post(url, {"action": "set_collection_level", "_selected_action": ids, "apply": "1",
                             "level": "heartbeat", "reason": "customer asked"})
    assert done.status_code == 302
    assert set(Instance.objects.filter(collection="heartbeat").values_list("pk", flat=True)) == {
        fleet[0].pk, fleet[1].pk}
    assert CollectionChange.objects.filter(reason="customer asked", changed_by=staff_user).count() == 2


@pytest.mark.django_db
def test_admin_lists_and_searches_instances(client: Client, fleet: list[Instance], staff_user) -> None:
    client.force_login(staff_user)
    response = client.get("/admin/instances/instance/", {"q": "i-1"})
    assert response.status_code == 200
    assert b"i-1" in response.content and b"i-2" not in response.content
    for path in ("/admin/instances/instance/?status__exact=new", "/admin/products/product/",
                 "/admin/events/event/", "/admin/licenses/license/", "/admin/instances/installation/",
                 f"/admin/instances/instance/{fleet[0].pk}/change/"):
        assert client.get(path).status_code == 200, path
