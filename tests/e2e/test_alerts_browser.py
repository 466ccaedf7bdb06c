"""Staff in a real browser create an alert channel and a rule in the admin, an instance goes silent,
and the fired alert shows on the fleet dashboard and in the alert history; the webhook arrived."""

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from apps.alerts.models import AlertChannel, AlertRule, Notification
from apps.alerts.services import alerts_evaluate_status_changes
from apps.alerts.tasks import deliver_notification
from apps.instances.models import Instance
from apps.instances.services import instances_check_heartbeats
from apps.products.models import Product
from tests.alerts.conftest import Receiver, receiver  # noqa: F401 - the loopback receiver fixture

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "browser-pass-123"


def test_create_channel_and_rule_then_see_the_fired_alert(live_server: Any, browser: Any, receiver: Receiver,  # noqa: F811
                                                          tmp_path: Path) -> None:
    product = Product.objects.create(slug="appsmith", name="Appsmith", heartbeat_interval=3600)
    now = timezone.now()
    Instance.objects.create(product=product, instance_id="acme-prod-1", first_seen=now - timedelta(days=3),
                            last_seen=now - timedelta(days=1), status="active")
    get_user_model().objects.create_superuser("browser", "browser@example.com", PASSWORD)
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    base = live_server.url
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", "browser")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")

    page.goto(f"{base}/admin/alerts/alertchannel/add/")
    page.fill("#id_name", "ops webhook")
    page.select_option("#id_kind", "webhook")
    page.fill("#id_target", receiver.url)
    page.click("input[name=_continue]")
    page.wait_for_selector("[data-testid=send-test]")
    channel = AlertChannel.objects.get()
    assert len(channel.secret) >= 32  # generated, since none was given
    page.click("[data-testid=send-test]")
    page.wait_for_selector("text=Test sent to ops webhook")
    assert receiver.requests[-1].json["alert"]["state"] == "test"

    page.goto(f"{base}/admin/alerts/alertrule/add/")
    page.select_option("#id_product", label="Appsmith")
    page.fill("#id_name", "customer instances")
    page.select_option("#id_kind", "instance_status")
    page.fill("#id_params", '{"selector": {}}')
    page.select_option("#id_channels_from", label=str(channel))
    page.click("#id_channels_add")
    page.click("input[name=_save]")
    page.wait_for_selector("text=was added successfully")
    rule = AlertRule.objects.get()
    assert list(rule.channels.all()) == [channel]

    instances_check_heartbeats(now=timezone.now())
    alerts_evaluate_status_changes(now=timezone.now())
    deliver_notification.apply(args=(Notification.objects.get(event="firing").pk,))
    assert receiver.requests[-1].json["alert"]["state"] == "firing"

    page.goto(f"{base}/admin/fleet/appsmith/")
    block = page.locator("[data-testid=open-alerts]")
    block.wait_for()
    assert "customer instances: 1 instance(s)" in block.inner_text()
    page.screenshot(path=str(tmp_path / "dashboard-open-alert.png"), full_page=True)
    page.click("[data-testid=open-alert] a")
    page.wait_for_selector("text=acme-prod-1")
    assert "sent" in page.locator("#notifications-group").inner_text()
    assert errors == []
