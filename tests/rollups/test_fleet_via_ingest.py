"""The scheduled jobs on a fleet built through the real ingest path (POST /api/v1/ingest, frozen time).

Appsmith-like product: a heartbeat every 2 h, so stale after 5 h (2 x 2 h + 1 h grace); dead after
2 days. Three instances and two installs on Monday 2024-03-04, then the fleet thins out while
`check_heartbeats` runs a few times; `build_rollups`, `send_reports` and `purge_expired` follow.
"""

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import time_machine
from django.core import mail
from django.core.management import call_command

from apps.events.models import Event
from apps.instances.models import Instance, StatusChange
from apps.products.models import Product
from apps.rollups.models import DailyBreakdown, DailyRollup, Report
from tests.fleet import Fleet

MON = datetime(2024, 3, 4, tzinfo=UTC)
TUE = MON + timedelta(days=1)
WED = MON + timedelta(days=2)
H = timedelta(hours=1)
ATTRIBUTES: dict[str, dict[str, Any]] = {
    # a and b name their public address (Germany, USA); c's is the test client's loopback: no country.
    "a": {"version": "1.9", "edition": "CE", "os": "linux", "license": {"id": "L1", "type": "enterprise"},
          "ipAddress": "194.25.2.129"},
    "b": {"version": "1.8", "edition": "EE", "os": "darwin", "ipAddress": "8.8.8.8"},
    "c": {"version": "1.9", "edition": "CE", "os": "linux", "license": {"id": "L2", "type": "community"}},
}


def _check_at(at: datetime) -> None:
    with time_machine.travel(at, tick=False):
        call_command("check_heartbeats", verbosity=0)


@pytest.fixture
def fleet(product: Product) -> Product:
    product.dead_after = 2 * 24 * 3600
    product.report_recipients = "fleet@example.com"
    product.save()
    fleet = Fleet(product)

    def beat(at: datetime, name: str) -> None:
        fleet.heartbeat(at, name, **ATTRIBUTES[name])

    fleet.install(MON + 9 * H, "i1", "started", os="linux")
    fleet.install(MON + 9 * H + timedelta(minutes=5), "i1", "succeeded")
    fleet.install(MON + 9 * H + timedelta(minutes=10), "i2", "started", os="linux")
    fleet.install(MON + 9 * H + timedelta(minutes=20), "i2", "failed", error="port 80 in use")
    for name in "abc":
        beat(MON + 10 * H, name)
    fleet.send(MON + 11 * H, {"type": "event", "instance_id": "a", "event": "page_view"},
               {"type": "event", "instance_id": "a", "event": "page_view"})
    fleet.event(MON + 11.5 * H, "b", "api_call")
    fleet.send(MON + 13 * H, {"type": "opt_out", "version": "1.9", "os": "linux"},
               {"type": "opt_out", "version": "1.8"})
    beat(MON + 12 * H, "a")
    beat(MON + 12 * H, "b")
    _check_at(MON + 16 * H)
    beat(TUE + 10 * H, "a")
    _check_at(TUE + 10 * H + timedelta(minutes=5))
    beat(TUE + 11 * H, "c")  # c went stale on Monday: this is a resurrection
    _check_at(WED + 13 * H)
    return product


def _changes() -> list[tuple[str, str, str, datetime]]:
    return list(StatusChange.objects.order_by("instance__instance_id", "at")
                .values_list("instance__instance_id", "old", "new", "at"))


EXPECTED_CHANGES = [
    ("a", "new", "active", MON + 12 * H), ("a", "active", "stale", TUE + 15 * H),
    ("b", "new", "active", MON + 12 * H), ("b", "active", "stale", MON + 17 * H), ("b", "stale", "dead", WED + 12 * H),
    ("c", "new", "stale", MON + 15 * H), ("c", "stale", "active", TUE + 11 * H), ("c", "active", "stale", TUE + 16 * H),
]


@pytest.mark.django_db
def test_status_changes_are_dated_when_each_threshold_passed(fleet: Product) -> None:
    assert _changes() == EXPECTED_CHANGES
    assert dict(Instance.objects.values_list("instance_id", "status")) == {"a": "stale", "b": "dead", "c": "stale"}
    _check_at(WED + 13 * H + timedelta(minutes=5))  # a second run changes nothing
    assert _changes() == EXPECTED_CHANGES


def _rollup_rows() -> list[tuple]:
    return list(DailyRollup.objects.order_by("day").values_list(
        "day", "active_instances", "new_instances", "stale_instances", "dead_instances", "resurrected_instances",
        "heartbeats", "events", "installs_started", "installs_succeeded", "installs_failed", "installs_support"))


def _breakdowns(day: date) -> set[tuple[str, str, int, int]]:
    return set(DailyBreakdown.objects.filter(day=day).values_list("dimension", "key", "count", "instances"))


@pytest.mark.django_db
def test_rollups_of_three_days(fleet: Product) -> None:
    with time_machine.travel(WED + 13.5 * H, tick=False):
        call_command("build_rollups", "--from", "2024-03-04", "--to", "2024-03-06", verbosity=0)
        call_command("build_rollups", "--from", "2024-03-04", "--to", "2024-03-06", verbosity=0)  # replaces

    assert _rollup_rows() == [
        (date(2024, 3, 4), 3, 3, 2, 0, 0, 5, 3, 2, 1, 1, 0),
        (date(2024, 3, 5), 2, 0, 2, 0, 1, 2, 0, 0, 0, 0, 0),
        (date(2024, 3, 6), 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0),
    ]
    assert set(DailyRollup.objects.values_list("computed_at", flat=True)) == {WED + 13.5 * H}
    assert _breakdowns(MON.date()) == {
        ("version", "1.9", 2, 2), ("version", "1.8", 1, 1), ("edition", "CE", 2, 2), ("edition", "EE", 1, 1),
        ("os", "linux", 2, 2), ("os", "darwin", 1, 1),
        ("license_type", "enterprise", 1, 1), ("license_type", "community", 1, 1), ("license_type", "", 1, 1),
        ("event", "page_view", 2, 1), ("event", "api_call", 1, 1),
        ("country", "DE", 1, 1), ("country", "US", 1, 1), ("country", "", 1, 1),
        ("opt_out_version", "1.9", 1, 0), ("opt_out_version", "1.8", 1, 0),
    }
    assert _breakdowns(TUE.date()) == {
        ("version", "1.9", 2, 2), ("edition", "CE", 2, 2), ("os", "linux", 2, 2),
        ("license_type", "enterprise", 1, 1), ("license_type", "community", 1, 1),
        ("country", "DE", 1, 1), ("country", "", 1, 1),
    }
    assert dict(DailyRollup.objects.values_list("day", "opt_outs")) == {MON.date(): 2, TUE.date(): 0, WED.date(): 0}
    assert _breakdowns(WED.date()) == set()


@pytest.mark.django_db
def test_weekly_report_of_the_fleet(fleet: Product) -> None:
    monday_after = datetime(2024, 3, 11, 6, 30, tzinfo=UTC)
    with time_machine.travel(monday_after, tick=False):
        call_command("build_rollups", "--from", "2024-03-04", "--to", "2024-03-10", verbosity=0)
        call_command("send_reports", verbosity=0)
        call_command("send_reports", verbosity=0)

    report = Report.objects.get()
    assert (report.kind, report.period_start, report.period_end, report.sent_at) == (
        "weekly", date(2024, 3, 4), date(2024, 3, 10), monday_after)
    assert report.content == {
        "product": {"slug": "appsmith", "name": "Appsmith"},
        "period": {"start": "2024-03-04", "end": "2024-03-10", "days": 7},
        "active_instances": {"average": 0.7, "peak": 3, "previous_average": 0.0, "change": 0.7,
                             "change_percent": None},
        "new_instances": 3,
        "installs": {"started": 2, "succeeded": 1, "failed": 1, "support": 0, "success_rate": 50.0},
        "instances_gone_stale": 4,
        "instances_gone_dead": 1,
        "instances_resurrected": 1,
        "heartbeats": 7,
        "events": 3,
        "opt_outs": 2,
        "snapshot_day": "2024-03-05",
        "versions": [{"version": "1.9", "instances": 2, "share": 100.0}],
        "licences": [{"type": "community", "instances": 1, "share": 50.0},
                     {"type": "enterprise", "instances": 1, "share": 50.0}],
        "countries": [{"country": "unknown", "instances": 1, "share": 50.0},
                      {"country": "DE", "instances": 1, "share": 50.0}],
    }
    [message] = mail.outbox
    assert message.to == ["fleet@example.com"]
    assert message.body == report.body
    assert "Installs: 2 started, 1 succeeded, 1 failed, 0 asked for support; success rate 50.0%" in report.body


@pytest.mark.django_db
def test_retention_purges_what_ingest_stored(fleet: Product) -> None:
    fleet.retention_days = 7
    fleet.save()
    with time_machine.travel(datetime(2024, 3, 12, 10, 30, tzinfo=UTC), tick=False):
        call_command("purge_expired", verbosity=0)
    # Cut-off Tuesday 10:30: everything but c's Tuesday 11:00 heartbeat is gone.
    assert list(Event.objects.values_list("instance__instance_id", "kind", "timestamp")) == [
        ("c", "heartbeat", TUE + 11 * H)]
