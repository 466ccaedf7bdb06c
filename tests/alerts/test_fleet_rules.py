"""Fleet rules over rollups built from heartbeats sent through ingest, and the install success rule
over a funnel of install runs sent through ingest."""

from datetime import UTC, date, datetime, timedelta

import pytest

from apps.alerts.models import Alert, AlertChannel, Notification
from apps.alerts.services import alerts_evaluate_fleet_rules
from apps.products.models import Product
from apps.rollups.services import days_between, rollups_build
from tests.fleet import Fleet

DAY0 = date(2024, 5, 6)
H = timedelta(hours=1)


def at(day: date, hour: int = 10) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def heartbeats(fleet: Fleet, day: date, count: int) -> None:
    fleet.send(at(day), *({"type": "heartbeat", "instance_id": f"inst-{n}", "event": "FETCH_RELEASE_NOTES"}
                          for n in range(count)))


@pytest.fixture
def email_channel(db: None) -> AlertChannel:
    return AlertChannel.objects.create(name="ops mail", kind="email", target="ops@example.com, oncall@example.com")


@pytest.mark.django_db
def test_fleet_drop_fires_on_ingested_rollups_and_resolves_when_they_recover(
        product: Product, make_rule, email_channel: AlertChannel, mailoutbox) -> None:
    fleet = Fleet(product)
    for n in range(3):
        heartbeats(fleet, DAY0 + timedelta(days=n), 10)
    drop_day = DAY0 + timedelta(days=3)
    heartbeats(fleet, drop_day, 6)
    rollups_build(days=days_between(DAY0, drop_day), now=at(drop_day, 23))
    rule = make_rule("metric", {"metric": "active_instances", "condition": "drop_pct", "threshold": 20, "days": 3},
                     channels=[email_channel], name="fleet shrinks")

    morning = at(drop_day + timedelta(days=1), 1)
    assert alerts_evaluate_fleet_rules(now=morning).fired == 1
    assert alerts_evaluate_fleet_rules(now=morning).fired == 0  # idempotent: still the one open alert
    alert = Alert.objects.get(rule=rule)
    assert alert.state == "firing" and alert.details["value"] == 6 and alert.details["baseline"] == 10
    assert alert.details["drop_pct"] == 40
    notification = Notification.objects.get()
    assert notification.event == "firing" and notification.payload["alert"]["kind"] == "metric"

    recovered = drop_day + timedelta(days=1)
    heartbeats(fleet, recovered, 10)
    rollups_build(days=[recovered], now=at(recovered, 23))
    assert alerts_evaluate_fleet_rules(now=at(recovered + timedelta(days=1), 1)).resolved == 1
    alert.refresh_from_db()
    assert alert.state == "resolved"
    assert list(Notification.objects.order_by("pk").values_list("event", flat=True)) == ["firing", "resolved"]


@pytest.mark.django_db
@pytest.mark.parametrize(("condition", "threshold", "fires"), [("above", 9, True), ("above", 10, False),
                                                                ("below", 11, True), ("below", 10, False)])
def test_above_and_below(product: Product, make_rule, condition: str, threshold: int, fires: bool) -> None:
    heartbeats(Fleet(product), DAY0, 10)
    rollups_build(days=[DAY0], now=at(DAY0, 23))
    make_rule("metric", {"metric": "active_instances", "condition": condition, "threshold": threshold})
    assert alerts_evaluate_fleet_rules(now=at(DAY0 + timedelta(days=1), 1)).fired == int(fires)


@pytest.mark.django_db
def test_install_success_rule_fires_on_a_funnel_of_failed_runs(product: Product, make_rule,
                                                              email_channel: AlertChannel, mailoutbox) -> None:
    fleet = Fleet(product)
    start = at(DAY0, 8)
    for n in range(10):
        fleet.install(start + n * timedelta(minutes=5), f"run-{n}", "started", os="linux")
        fleet.install(start + n * timedelta(minutes=5) + timedelta(minutes=2), f"run-{n}",
                      "succeeded" if n < 3 else "failed", error="" if n < 3 else "port 80 in use")
    make_rule("install_success_rate", {"threshold": 80, "window_hours": 6, "min_started": 5},
              channels=[email_channel], name="installs failing")
    now = start + 2 * H

    assert alerts_evaluate_fleet_rules(now=now).fired == 1
    alert = Alert.objects.get()
    assert alert.details == {"window_hours": 6, "started": 10, "succeeded": 3, "rate_pct": 30.0, "threshold": 80.0,
                             "min_started": 5}
    # Once the window has moved past the failed runs, too few runs started to judge: resolved.
    assert alerts_evaluate_fleet_rules(now=now + 7 * H).resolved == 1


@pytest.mark.django_db
def test_install_success_rule_waits_for_enough_runs(product: Product, make_rule) -> None:
    fleet = Fleet(product)
    fleet.install(at(DAY0, 8), "only-run", "started")
    fleet.install(at(DAY0, 8) + timedelta(minutes=3), "only-run", "failed")
    make_rule("install_success_rate", {"threshold": 80, "window_hours": 6, "min_started": 5})
    assert alerts_evaluate_fleet_rules(now=at(DAY0, 9)).fired == 0


@pytest.mark.django_db
def test_email_delivery_goes_through_djangos_backend(product: Product, make_rule, email_channel: AlertChannel,
                                                     mailoutbox) -> None:
    from apps.alerts.tasks import deliver_notification

    heartbeats(Fleet(product), DAY0, 3)
    rollups_build(days=[DAY0], now=at(DAY0, 23))
    make_rule("metric", {"metric": "active_instances", "condition": "below", "threshold": 5},
              channels=[email_channel], name="too few")
    alerts_evaluate_fleet_rules(now=at(DAY0 + timedelta(days=1), 1))
    deliver_notification.apply(args=(Notification.objects.get().pk,))
    assert len(mailoutbox) == 1
    assert mailoutbox[0].to == ["ops@example.com", "oncall@example.com"]
    assert mailoutbox[0].subject.startswith("FIRING: [appsmith] too few")
    assert Notification.objects.get().outcome == "sent"
