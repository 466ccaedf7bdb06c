"""End to end against a real HTTP receiver on loopback: heartbeats through ingest, the heartbeat check,
evaluation, and delivery by the Celery task (run in-process, retries included)."""

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from apps.alerts.models import Alert, AlertChannel, DeliveryAttempt, Notification
from apps.alerts.services import alerts_evaluate_status_changes
from apps.alerts.tasks import deliver_notification
from apps.instances.models import Instance
from apps.instances.services import instances_check_heartbeats
from apps.products.models import Product
from tests.fleet import Fleet

from .conftest import Receiver

T0 = datetime(2024, 3, 4, 9, 0, tzinfo=UTC)


def verify(received, secret: str) -> bool:
    """What a receiver does: recompute the HMAC of "<timestamp>.<body>" and compare in constant time."""
    timestamp = received.headers["X-Telemetry-Timestamp"]
    expected = hmac.new(secret.encode(), f"{timestamp}.".encode() + received.body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(received.headers["X-Telemetry-Signature"], f"sha256={expected}")


def deliver_pending() -> None:
    for pk in Notification.objects.filter(outcome="pending").order_by("pk").values_list("pk", flat=True):
        deliver_notification.apply(args=(pk,))


@pytest.fixture
def watched(product: Product, staff_user, make_rule, webhook: AlertChannel) -> Instance:
    fleet = Fleet(product)
    fleet.heartbeat(T0, "paying-1")
    fleet.heartbeat(T0, "free-1")
    paying = Instance.objects.get(instance_id="paying-1")
    api = APIClient()
    api.force_authenticate(staff_user)
    assert api.patch(f"/api/v1/instances/{paying.pk}/", {"labels": ["paying"]}, format="json").json()["labels"] \
        == ["paying"]
    make_rule(params={"selector": {"label": "paying"}}, channels=[webhook], name="paying customers")
    return paying


@pytest.mark.django_db
def test_stale_then_back_sends_one_signed_firing_then_one_resolved_webhook(
        watched: Instance, product: Product, receiver: Receiver) -> None:
    later = T0 + timedelta(seconds=product.stale_after_seconds + 60)
    assert instances_check_heartbeats(now=later).stale == 2
    assert alerts_evaluate_status_changes(now=later).fired == 1
    assert alerts_evaluate_status_changes(now=later).changes == 0  # each change is claimed once
    deliver_pending()

    assert len(receiver.requests) == 1
    firing = receiver.requests[0]
    assert verify(firing, "s3cret")
    alert = firing.json["alert"]
    assert alert["state"] == "firing" and alert["kind"] == "instance_status" and alert["product"] == "appsmith"
    assert [i["instance_id"] for i in alert["instances"]] == ["paying-1"]  # the unlabelled one is not watched
    assert alert["resolved_at"] is None and alert["url"].endswith(f"/admin/alerts/alert/{alert['id']}/change/")

    back = later + timedelta(minutes=10)
    Fleet(product).heartbeat(back, "paying-1")
    assert alerts_evaluate_status_changes(now=back + timedelta(minutes=1)).resolved == 1
    deliver_pending()
    deliver_pending()  # nothing left to send twice

    assert len(receiver.requests) == 2
    resolved = receiver.requests[1]
    assert verify(resolved, "s3cret") and not verify(resolved, "other-secret")
    assert resolved.json["alert"]["id"] == alert["id"] and resolved.json["alert"]["state"] == "resolved"
    stored = Alert.objects.get()
    assert stored.state == "resolved" and stored.resolved_at is not None


@pytest.mark.django_db
def test_a_500_is_retried_and_both_attempts_are_recorded(watched: Instance, product: Product,
                                                         receiver: Receiver, staff_user) -> None:
    receiver.answers = [500]
    later = T0 + timedelta(seconds=product.stale_after_seconds + 60)
    instances_check_heartbeats(now=later)
    alerts_evaluate_status_changes(now=later)
    deliver_pending()

    assert len(receiver.requests) == 2 and all(verify(r, "s3cret") for r in receiver.requests)
    notification = Notification.objects.get()
    assert notification.outcome == "sent" and notification.attempts == 2 and notification.sent_at
    assert list(DeliveryAttempt.objects.order_by("pk").values_list("status_code", "delivered")) == [
        (500, False), (200, True)]
    channel = AlertChannel.objects.get()
    assert channel.consecutive_failures == 0 and not channel.failing

    api = APIClient()
    api.force_authenticate(staff_user)
    listed = api.get("/api/v1/alerts/", {"state": "firing"}).json()["results"]
    assert [n["attempts"] for n in listed[0]["notifications"]] == [2]
    assert [d["status_code"] for d in listed[0]["notifications"][0]["deliveries"]] == [500, 200]


@pytest.mark.django_db
def test_a_receiver_that_keeps_failing_marks_the_channel_failing(watched: Instance, product: Product,
                                                                  receiver: Receiver) -> None:
    receiver.answers = [503] * 20
    later = T0 + timedelta(seconds=product.stale_after_seconds + 60)
    instances_check_heartbeats(now=later)
    alerts_evaluate_status_changes(now=later)
    deliver_pending()

    notification = Notification.objects.get()
    assert notification.outcome == "failed" and notification.attempts == 7  # the first try and six retries
    assert AlertChannel.objects.get().failing


@pytest.mark.django_db
def test_a_4xx_is_not_retried(watched: Instance, product: Product, receiver: Receiver) -> None:
    receiver.answers = [410]
    later = T0 + timedelta(seconds=product.stale_after_seconds + 60)
    instances_check_heartbeats(now=later)
    alerts_evaluate_status_changes(now=later)
    deliver_pending()
    assert len(receiver.requests) == 1
    assert Notification.objects.get().outcome == "failed"
