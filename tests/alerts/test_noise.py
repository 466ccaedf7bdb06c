"""Noise control: a burst is one notification per channel, cooldown per rule, acknowledge and mute."""

from datetime import UTC, datetime, timedelta

import pytest

from apps.alerts.models import Alert, AlertChannel, AlertInstance, Notification
from apps.alerts.services import alert_acknowledge, alert_mute, alerts_evaluate_status_changes
from apps.instances.models import Instance, StatusChange
from apps.instances.services import instances_check_heartbeats
from apps.products.models import Product

NOW = datetime(2024, 6, 3, 12, 0, tzinfo=UTC)


def make_fleet(product: Product, count: int, *, prefix: str = "i", last_seen: datetime | None = None) -> None:
    seen = last_seen or NOW - timedelta(days=2)
    Instance.objects.bulk_create([
        Instance(product=product, instance_id=f"{prefix}-{n:04d}", first_seen=seen, last_seen=seen, status="active")
        for n in range(count)])


def go_stale(product: Product, now: datetime) -> int:
    return instances_check_heartbeats(now=now).stale


def come_back(product: Product, instance_ids: list[str], now: datetime) -> None:
    # What ingest does for a heartbeat from a stale instance: active again, and the change recorded.
    instances = Instance.objects.filter(product=product, instance_id__in=instance_ids)
    StatusChange.objects.bulk_create([StatusChange(instance=i, old=i.status, new="active", at=now) for i in instances])
    instances.update(status="active", last_seen=now)


@pytest.fixture
def channels(db: None) -> list[AlertChannel]:
    return [AlertChannel.objects.create(name="mail", kind="email", target="ops@example.com"),
            AlertChannel.objects.create(name="hook", kind="webhook", target="http://127.0.0.1:9/x", secret="k")]


@pytest.mark.django_db
def test_a_burst_of_500_changes_is_one_notification_per_channel(product: Product, make_rule,
                                                                channels: list[AlertChannel]) -> None:
    make_fleet(product, 500)
    make_rule(channels=channels)
    assert go_stale(product, NOW) == 500
    result = alerts_evaluate_status_changes(now=NOW, chunk_size=200)  # a burst larger than one chunk too
    assert result.changes == 500 and result.fired == 1

    notifications = Notification.objects.order_by("channel_id")
    assert [n.channel_id for n in notifications] == [c.pk for c in channels]
    payload = notifications[0].payload["alert"]
    assert payload["instance_count"] == 200  # decided after the first chunk; the next ones fall in the cooldown
    assert len(payload["instances"]) == 20 and payload["instances"][0]["instance_id"] == "i-0000"
    alert = Alert.objects.get()
    assert alert.members.count() == 500 and alert.details["instances_down"] == 500


@pytest.mark.django_db
def test_a_burst_in_one_chunk_lists_the_count_and_the_first_instances(product: Product, make_rule,
                                                                      channels: list[AlertChannel]) -> None:
    make_fleet(product, 500)
    make_rule(channels=channels)
    go_stale(product, NOW)
    alerts_evaluate_status_changes(now=NOW)
    assert Notification.objects.count() == 2
    notification = Notification.objects.first()
    assert notification is not None
    payload = notification.payload["alert"]
    assert payload["instance_count"] == 500 and len(payload["instances"]) == 20
    assert "500 instance(s)" in payload["summary"]


@pytest.mark.django_db
def test_stale_to_dead_of_a_listed_instance_says_nothing_new(product: Product, make_rule,
                                                             channels: list[AlertChannel]) -> None:
    make_fleet(product, 3)
    make_rule(channels=channels[:1], cooldown_minutes=0)
    go_stale(product, NOW)
    alerts_evaluate_status_changes(now=NOW)
    later = NOW + timedelta(seconds=product.dead_after + 1)
    assert instances_check_heartbeats(now=later).dead == 3
    assert alerts_evaluate_status_changes(now=later).changes == 3
    assert Notification.objects.count() == 1


@pytest.mark.django_db
def test_cooldown_holds_back_a_new_alert_of_the_same_rule(product: Product, make_rule,
                                                          channels: list[AlertChannel]) -> None:
    make_fleet(product, 1)
    rule = make_rule(channels=channels[:1], cooldown_minutes=60)
    go_stale(product, NOW)
    alerts_evaluate_status_changes(now=NOW)
    come_back(product, ["i-0000"], NOW + timedelta(minutes=5))
    alerts_evaluate_status_changes(now=NOW + timedelta(minutes=5))
    assert list(Notification.objects.order_by("pk").values_list("event", flat=True)) == ["firing", "resolved"]

    # Flapping: silent again 10 minutes later, inside the hour of cooldown → recorded, not announced.
    Instance.objects.update(last_seen=NOW - timedelta(days=1))
    go_stale(product, NOW + timedelta(minutes=15))
    alerts_evaluate_status_changes(now=NOW + timedelta(minutes=15))
    assert Alert.objects.filter(rule=rule, state="firing").count() == 1
    assert Notification.objects.count() == 2


@pytest.mark.django_db
def test_acknowledged_alerts_stop_updates_but_still_resolve_loudly(product: Product, make_rule, staff_user,
                                                                   channels: list[AlertChannel]) -> None:
    make_fleet(product, 2)
    make_rule(channels=channels[:1], cooldown_minutes=0)
    Instance.objects.filter(instance_id="i-0001").update(last_seen=NOW)
    go_stale(product, NOW)
    alerts_evaluate_status_changes(now=NOW)
    alert = Alert.objects.get()
    alert_acknowledge(alert=alert, user=staff_user, now=NOW)

    later = NOW + timedelta(days=1)
    go_stale(product, later)  # the second instance goes silent too: it joins, nobody is paged again
    alerts_evaluate_status_changes(now=later)
    assert AlertInstance.objects.filter(alert=alert).count() == 2
    assert Notification.objects.count() == 1

    come_back(product, ["i-0000", "i-0001"], later + timedelta(minutes=1))
    alerts_evaluate_status_changes(now=later + timedelta(minutes=1))
    assert list(Notification.objects.order_by("pk").values_list("event", flat=True)) == ["firing", "resolved"]


@pytest.mark.django_db
def test_a_muted_alert_says_nothing_until_the_mute_ends(product: Product, make_rule,
                                                        channels: list[AlertChannel]) -> None:
    make_fleet(product, 2)
    make_rule(channels=channels[:1], cooldown_minutes=0)
    Instance.objects.filter(instance_id="i-0001").update(last_seen=NOW)
    go_stale(product, NOW)
    alerts_evaluate_status_changes(now=NOW)
    alert_mute(alert=Alert.objects.get(), minutes=60, now=NOW)

    go_stale(product, NOW + timedelta(days=1))
    alerts_evaluate_status_changes(now=NOW + timedelta(minutes=30))  # still muted
    assert Notification.objects.count() == 1
    come_back(product, ["i-0000", "i-0001"], NOW + timedelta(minutes=40))
    alerts_evaluate_status_changes(now=NOW + timedelta(minutes=40))
    assert Notification.objects.count() == 1 and Alert.objects.get().state == "resolved"


@pytest.mark.django_db
def test_selectors_pick_by_label_licence_type_and_edition(product: Product, make_rule) -> None:
    from apps.instances.models import InstanceLabel
    from apps.licenses.models import License

    make_fleet(product, 4)
    enterprise = License.objects.create(product=product, license_id="l1", type="enterprise", first_seen=NOW,
                                        last_seen=NOW)
    Instance.objects.filter(instance_id="i-0001").update(license=enterprise)
    Instance.objects.filter(instance_id="i-0002").update(edition="ee")
    InstanceLabel.objects.create(instance=Instance.objects.get(instance_id="i-0003"), label="acme")
    rules = {name: make_rule(params={"selector": selector}, name=name) for name, selector in [
        ("all", {}), ("licensed", {"license_type": "enterprise"}), ("ee", {"edition": "ee"}),
        ("acme", {"label": "acme"})]}
    go_stale(product, NOW)
    alerts_evaluate_status_changes(now=NOW)
    listed = {name: sorted(AlertInstance.objects.filter(alert__rule=rule).values_list("instance__instance_id",
                                                                                      flat=True))
              for name, rule in rules.items()}
    assert listed == {"all": ["i-0000", "i-0001", "i-0002", "i-0003"], "licensed": ["i-0001"], "ee": ["i-0002"],
                      "acme": ["i-0003"]}
