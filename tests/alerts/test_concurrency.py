"""Two heartbeat checks, each followed by an evaluation, running at once: every status change is
claimed and acted on exactly once (on PostgreSQL row locks decide; on SQLite its one writer)."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from apps.alerts.models import Alert, AlertChannel, AlertInstance, Notification
from apps.alerts.services import StatusEvaluation, alerts_evaluate_status_changes
from apps.instances.models import Instance, StatusChange
from apps.instances.services import instances_check_heartbeats
from apps.products.models import Product

NOW = datetime(2024, 6, 3, 12, 0, tzinfo=UTC)
FLEET = 300


@pytest.mark.django_db(transaction=True)
def test_two_checks_and_evaluations_at_once_notify_each_change_exactly_once(product: Product, make_rule) -> None:
    Instance.objects.bulk_create(
        Instance(product=product, instance_id=f"i{n}", status="active", first_seen=NOW - timedelta(days=9),
                 last_seen=NOW - timedelta(days=1, seconds=n)) for n in range(FLEET))
    channels = [AlertChannel.objects.create(name=f"mail {n}", kind="email", target="ops@example.com")
                for n in range(2)]
    make_rule(channels=channels)
    results: list[StatusEvaluation] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run() -> None:
        try:
            start.wait()
            instances_check_heartbeats(now=NOW, chunk_size=25)
            results.append(alerts_evaluate_status_changes(now=NOW, chunk_size=30))
        except BaseException as exc:  # surfaced below: a thread's exception would otherwise vanish
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Whatever one evaluator left because the other held it is picked up by the next run.
    results.append(alerts_evaluate_status_changes(now=NOW))

    assert errors == []
    assert StatusChange.objects.count() == FLEET and not StatusChange.objects.filter(notified_at__isnull=True).exists()
    assert sum(r.changes for r in results) == FLEET  # each change claimed by exactly one evaluation
    assert sum(r.fired for r in results) == 1 and Alert.objects.count() == 1
    assert AlertInstance.objects.count() == FLEET
    assert AlertInstance.objects.values("instance").distinct().count() == FLEET
    assert sorted(Notification.objects.values_list("channel_id", flat=True)) == [c.pk for c in channels]


@pytest.mark.django_db
def test_claiming_is_set_based_and_skips_claimed_rows(product: Product) -> None:
    from apps.instances.services import status_changes_claim

    instance = Instance.objects.create(product=product, instance_id="x", first_seen=NOW, last_seen=NOW)
    StatusChange.objects.bulk_create([StatusChange(instance=instance, old="active", new="stale",
                                                   at=NOW + timedelta(minutes=n)) for n in range(5)])
    first = status_changes_claim(now=NOW, limit=3)
    second = status_changes_claim(now=NOW, limit=3)
    assert len(first) == 3 and len(second) == 2 and not set(first) & set(second)
    assert status_changes_claim(now=NOW, limit=3) == []
