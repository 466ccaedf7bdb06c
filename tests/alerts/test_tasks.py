"""The Celery tasks: the evaluation job end to end, the sweep of lost deliveries, erased instances."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.alerts.models import Alert, AlertChannel, Notification
from apps.alerts.services import notifications_redeliver
from apps.alerts.tasks import evaluate_alerts
from apps.instances.models import Instance
from apps.instances.services import instance_erase, instances_check_heartbeats
from apps.products.models import Product


@pytest.fixture
def silent(product: Product, make_rule) -> Instance:
    channel = AlertChannel.objects.create(name="mail", kind="email", target="ops@example.com")
    make_rule(channels=[channel])
    now = timezone.now()
    return Instance.objects.create(product=product, instance_id="quiet", first_seen=now - timedelta(days=3),
                                   last_seen=now - timedelta(days=1), status="active")


@pytest.mark.django_db
def test_evaluate_alerts_task_fires_and_is_idempotent(silent: Instance) -> None:
    instances_check_heartbeats(now=timezone.now())
    assert evaluate_alerts.apply().get() == {"changes": 1, "fired": 1, "resolved": 0, "redelivered": 0}
    assert evaluate_alerts.apply().get() == {"changes": 0, "fired": 0, "resolved": 0, "redelivered": 0}
    assert Notification.objects.count() == 1


@pytest.mark.django_db
def test_the_sweep_enqueues_notifications_whose_task_was_lost(silent: Instance, monkeypatch) -> None:
    from apps.alerts import tasks

    instances_check_heartbeats(now=timezone.now())
    evaluate_alerts.apply()
    sent: list[int] = []
    monkeypatch.setattr(tasks.deliver_notification, "delay", sent.append)
    now = timezone.now()
    assert notifications_redeliver(now=now) == 0  # too fresh: its own task may still be on its way
    assert notifications_redeliver(now=now + timedelta(minutes=10)) == 1
    assert sent == [Notification.objects.get().pk]
    assert notifications_redeliver(now=now + timedelta(minutes=11)) == 0  # pushed forward, not sent twice


@pytest.mark.django_db
def test_an_alert_whose_instances_were_all_erased_resolves(silent: Instance, staff_user) -> None:
    instances_check_heartbeats(now=timezone.now())
    evaluate_alerts.apply()
    instance_erase(instance_pk=silent.pk, user=staff_user, now=timezone.now(), reason="asked")
    assert evaluate_alerts.apply().get()["resolved"] == 1
    assert Alert.objects.get().state == "resolved"
