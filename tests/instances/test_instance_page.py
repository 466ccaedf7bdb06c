"""The admin's instance page and its collection-level form."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from apps.events.models import Event, EventKind
from apps.instances.models import CollectionChange, CollectionLevel, Instance
from apps.instances.page_selectors import flatten_metrics, instance_events_page, instance_versions_seen
from tests.admin_fleet import build_fleet

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def instance(db: None) -> Instance:
    return build_fleet(size=4, days=2, now=NOW).instances[1]


def test_versions_seen_from_heartbeats_of_each_product_shape(instance: Instance) -> None:
    Event.objects.filter(instance=instance).delete()
    shapes = [{"version": "v1.9.15"}, {"hasura_version": "v2.40.0"}, {"env": {"flowforge": "2.5.0"}},
              {"wasp_version": "0.14.0"}, {"version": ""}, {}]
    Event.objects.bulk_create(
        Event(product=instance.product, instance=instance, kind=EventKind.HEARTBEAT, name="hb", message_id=f"m{n}",
              timestamp=NOW - timedelta(hours=n), received_at=NOW, properties=props)
        for n, props in enumerate(shapes))
    Event.objects.create(product=instance.product, instance=instance, kind=EventKind.EVENT, name="login",
                         message_id="not-a-heartbeat", timestamp=NOW, received_at=NOW, properties={"version": "9"})
    seen = instance_versions_seen(instance=instance)
    assert [v.version for v in seen] == ["v1.9.15", "v2.40.0", "2.5.0", "0.14.0"]
    assert seen[0].first_seen == seen[0].last_seen == NOW and seen[0].heartbeats == 1


def test_events_page_never_counts(instance: Instance, django_assert_num_queries) -> None:
    Event.objects.bulk_create(
        Event(product=instance.product, instance=instance, name="e", message_id=f"x{n}",
              timestamp=NOW - timedelta(minutes=n), received_at=NOW) for n in range(45))
    with django_assert_num_queries(1):
        first = instance_events_page(instance=instance, page=1)
    assert len(first.rows) == 20 and first.has_older
    last = instance_events_page(instance=instance, page=3)
    assert last.number == 3 and len(last.rows) == 45 + 5 - 40 and not last.has_older
    assert instance_events_page(instance=instance, page="junk").number == 1


def test_flatten_metrics_is_readable() -> None:
    groups = flatten_metrics({"usage": {"hasura_postgres_connections": [{"role": "primary", "value": 5}]},
                              "server": {"permissions": {"roles": 1}, "ci": None, "ok": True}})
    assert groups == [("server", [("ci", "—"), ("ok", "true"), ("permissions.roles", "1")]),
                      ("usage", [("hasura_postgres_connections", "5 (role=primary)")])]
    assert flatten_metrics({}) == []


def test_instance_page_shows_everything(instance: Instance, client: Client, staff_user) -> None:
    client.force_login(staff_user)
    response = client.get(f"/admin/instances/instance/{instance.pk}/change/")
    assert response.status_code == 200
    body = response.content.decode()
    assert instance.license is not None
    for text in (instance.instance_id, "Status history", "Versions seen", "Latest metrics", "permissions.roles",
                 "Recent events", "Collection level", "Change level", instance.license.license_id):
        assert text in body
    assert client.get("/admin/instances/instance/999999/change/").status_code == 404
    assert client.get("/admin/instances/instance/add/").status_code == 403


def test_collection_form_changes_the_level_with_an_audit_row(instance: Instance, client: Client,
                                                             staff_user) -> None:
    client.force_login(staff_user)
    url = f"/admin/instances/instance/{instance.pk}/collection/"
    assert client.get(url).status_code == 405
    response = client.post(url, {"level": CollectionLevel.OFF, "reason": "GDPR request #42"})
    assert response.status_code == 302 and response["Location"] == f"/admin/instances/instance/{instance.pk}/change/"
    instance.refresh_from_db()
    assert instance.collection == CollectionLevel.OFF
    change = CollectionChange.objects.filter(instance=instance).latest("at")
    assert (change.new, change.reason, change.changed_by) == (CollectionLevel.OFF, "GDPR request #42", staff_user)

    before = CollectionChange.objects.count()
    client.post(url, {"level": CollectionLevel.OFF, "reason": "again"})  # same level: nothing to audit
    client.post(url, {"level": CollectionLevel.FULL, "reason": ""})       # no reason: refused
    assert CollectionChange.objects.count() == before
    instance.refresh_from_db()
    assert instance.collection == CollectionLevel.OFF


def test_collection_form_needs_change_permission(instance: Instance, client: Client, django_user_model) -> None:
    viewer = django_user_model.objects.create_user("viewer", password="v-pass-123", is_staff=True)
    from django.contrib.auth.models import Permission
    viewer.user_permissions.add(Permission.objects.get(codename="view_instance"))
    client.force_login(viewer)
    page = client.get(f"/admin/instances/instance/{instance.pk}/change/")
    assert page.status_code == 200 and "Change level" not in page.content.decode()
    response = client.post(f"/admin/instances/instance/{instance.pk}/collection/",
                           {"level": CollectionLevel.OFF, "reason": "x"})
    assert response.status_code == 403
