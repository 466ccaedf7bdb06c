"""Admin pages of alerting: bounded queries whatever an alert's size, send-test, labels, open alerts."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.alerts.models import Alert, AlertChannel, AlertRule, Notification
from apps.alerts.services import alerts_evaluate_status_changes
from apps.instances.models import Instance, InstanceLabel
from apps.instances.services import instances_check_heartbeats
from apps.products.models import Product

NOW = datetime(2024, 6, 3, 12, 0, tzinfo=UTC)


def fire(product: Product, size: int) -> Alert:
    Instance.objects.bulk_create(
        Instance(product=product, instance_id=f"{product.slug}-{n}", first_seen=NOW - timedelta(days=9),
                 last_seen=NOW - timedelta(days=1), status="active") for n in range(size))
    channel = AlertChannel.objects.create(name=f"{product.slug} mail", kind="email", target="ops@example.com")
    rule = AlertRule.objects.create(product=product, name=f"{product.slug} all", kind="instance_status",
                                    params={"selector": {}})
    rule.channels.set([channel])
    instances_check_heartbeats(now=NOW, product_ids=[product.pk])
    alerts_evaluate_status_changes(now=NOW)
    return Alert.objects.get(rule=rule)


PAGES = {
    "alerts": lambda a: f"/admin/alerts/alert/?product__id__exact={a.product_id}",
    "alert": lambda a: f"/admin/alerts/alert/{a.pk}/change/",
    "rules": lambda a: "/admin/alerts/alertrule/",
    "rule": lambda a: f"/admin/alerts/alertrule/{a.rule_id}/change/",
    "channels": lambda a: "/admin/alerts/alertchannel/",
    "channel": lambda a: f"/admin/alerts/alertchannel/{a.rule.channels.get().pk}/change/",
    "notifications": lambda a: "/admin/alerts/notification/",
    "notification": lambda a: f"/admin/alerts/notification/{a.notifications.get().pk}/change/",
    "dashboard": lambda a: f"/admin/fleet/{a.product.slug}/",
    "instance": lambda a: f"/admin/instances/instance/{a.members.first().instance_id}/change/",
}


@pytest.mark.django_db
@pytest.mark.parametrize("name", list(PAGES))
def test_alert_pages_cost_the_same_for_a_small_and_a_large_alert(name: str, make_product, staff_user,
                                                                  client: Client) -> None:
    client.force_login(staff_user)
    small = fire(make_product("small", heartbeat_interval=3600), 2)
    large = fire(make_product("large", heartbeat_interval=3600), 120)
    client.get(PAGES[name](small))
    counts = []
    for alert in (small, large):
        url = PAGES[name](alert)
        with CaptureQueriesContext(connection) as captured:
            response = client.get(url)
        assert response.status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1] <= 20, counts


@pytest.mark.django_db
def test_open_alerts_show_on_the_dashboard_and_the_instance_page(product: Product, staff_user,
                                                                 client: Client) -> None:
    client.force_login(staff_user)
    alert = fire(product, 3)
    dashboard = client.get(f"/admin/fleet/{product.slug}/").content.decode()
    assert 'data-testid="open-alert"' in dashboard and alert.summary in dashboard
    member = alert.members.first()
    assert member is not None
    page = client.get(f"/admin/instances/instance/{member.instance_id}/change/").content.decode()
    assert alert.summary in page
    # The overview across products counts them and links to them.
    overview = client.get("/admin/fleet/").content.decode()
    assert f"?product__id__exact={product.pk}&state__exact=firing\">1</a>" in overview


@pytest.mark.django_db
def test_send_test_button_sends_and_reports(product: Product, staff_user, client: Client, mailoutbox) -> None:
    client.force_login(staff_user)
    channel = AlertChannel.objects.create(name="mail", kind="email", target="ops@example.com")
    page = client.get(f"/admin/alerts/alertchannel/{channel.pk}/change/").content.decode()
    assert 'data-testid="send-test"' in page
    response = client.post(f"/admin/alerts/alertchannel/{channel.pk}/send-test/", follow=True)
    assert "Test sent to mail" in response.content.decode()
    assert len(mailoutbox) == 1 and Notification.objects.get().event == "test"
    assert client.get(f"/admin/alerts/alertchannel/{channel.pk}/send-test/").status_code == 405


@pytest.mark.django_db
def test_admin_rule_form_checks_params(product: Product, staff_user, client: Client) -> None:
    client.force_login(staff_user)
    response = client.post("/admin/alerts/alertrule/add/", {
        "product": product.pk, "name": "bad", "kind": "metric", "params": '{"metric": "nope"}',
        "enabled": "on", "cooldown_minutes": 60})
    assert response.status_code == 200 and "`metric` is one of" in response.content.decode()
    response = client.post("/admin/alerts/alertrule/add/", {
        "product": product.pk, "name": "good", "kind": "metric", "enabled": "on", "cooldown_minutes": 60,
        "params": '{"metric": "active_instances", "condition": "below", "threshold": 3}'})
    assert response.status_code == 302
    assert AlertRule.objects.get().params == {"metric": "active_instances", "condition": "below", "threshold": 3.0}


@pytest.mark.django_db
def test_labels_are_edited_on_the_instance_page(product: Product, staff_user, client: Client) -> None:
    client.force_login(staff_user)
    instance = Instance.objects.create(product=product, instance_id="x", first_seen=NOW, last_seen=NOW)
    response = client.post(f"/admin/instances/instance/{instance.pk}/labels/", {"labels": "paying, acme"},
                           follow=True)
    assert "Labels: paying, acme." in response.content.decode()
    assert sorted(InstanceLabel.objects.values_list("label", flat=True)) == ["acme", "paying"]
    client.post(f"/admin/instances/instance/{instance.pk}/labels/", {"labels": "acme"})
    assert list(InstanceLabel.objects.values_list("label", flat=True)) == ["acme"]
    bad = client.post(f"/admin/instances/instance/{instance.pk}/labels/", {"labels": "x" * 70}, follow=True)
    assert "at most 64" in bad.content.decode()
    assert list(InstanceLabel.objects.values_list("label", flat=True)) == ["acme"]
