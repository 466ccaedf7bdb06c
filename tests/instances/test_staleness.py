"""The heartbeat checker on rows created directly: exact transitions, dates, idempotency, races."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from apps.instances.models import Instance, StatusChange
from apps.instances.services import HeartbeatCheck, instances_check_heartbeats
from apps.products.models import Product

NOW = datetime(2024, 3, 10, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)


def _instance(product: Product, name: str, status: str, last_seen: datetime) -> Instance:
    return Instance.objects.create(product=product, instance_id=name, status=status, first_seen=last_seen - 10 * H,
                                   last_seen=last_seen)


@pytest.fixture
def short(make_product) -> Product:
    return make_product("short", heartbeat_interval=3600, stale_after=2 * 3600, dead_after=24 * 3600)


@pytest.fixture
def fleet(short: Product, make_product) -> dict[str, Instance]:
    daily = make_product("daily", heartbeat_interval=24 * 3600)  # default stale after 2 x 24 h + 1 h
    return {
        "fresh": _instance(short, "fresh", "active", NOW - H),
        "quiet": _instance(short, "quiet", "active", NOW - 3 * H),
        "gone": _instance(short, "gone", "new", NOW - 48 * H),
        "stale": _instance(short, "stale", "stale", NOW - 25 * H),
        "dead": _instance(short, "dead", "dead", NOW - 100 * H),
        "edge": _instance(short, "edge", "active", NOW - 2 * H),  # exactly at the threshold: not yet stale
        "daily": _instance(daily, "daily", "active", NOW - 40 * H),
    }


def _changes() -> list[tuple[str, str, str, datetime]]:
    return [(c.instance.instance_id, c.old, c.new, c.at)
            for c in StatusChange.objects.select_related("instance").order_by("instance__instance_id", "at")]


EXPECTED = [
    ("gone", "new", "stale", NOW - 48 * H + 2 * H),
    ("gone", "stale", "dead", NOW - 48 * H + 24 * H),
    ("quiet", "active", "stale", NOW - 3 * H + 2 * H),
    ("stale", "stale", "dead", NOW - 25 * H + 24 * H),
]


@pytest.mark.django_db
def test_silent_instances_go_stale_then_dead_dated_at_the_threshold(fleet: dict[str, Instance]) -> None:
    result = instances_check_heartbeats(now=NOW)

    assert result == HeartbeatCheck(stale=2, dead=2)
    assert _changes() == EXPECTED
    statuses = {i.instance_id: (i.status, i.status_changed_at) for i in Instance.objects.all()}
    assert statuses == {
        "fresh": ("active", None), "edge": ("active", None), "daily": ("active", None), "dead": ("dead", None),
        "quiet": ("stale", NOW - H), "gone": ("dead", NOW - 24 * H), "stale": ("dead", NOW - H),
    }


@pytest.mark.django_db
def test_a_second_run_changes_nothing(fleet: dict[str, Instance]) -> None:
    instances_check_heartbeats(now=NOW)
    assert instances_check_heartbeats(now=NOW) == HeartbeatCheck()
    assert _changes() == EXPECTED
    # A minute later only the instance that sat exactly on the threshold moves.
    assert instances_check_heartbeats(now=NOW + timedelta(minutes=1)) == HeartbeatCheck(stale=1)
    assert _changes() == sorted([*EXPECTED, ("edge", "active", "stale", NOW)])


@pytest.mark.django_db
def test_small_chunks_reach_every_instance(short: Product) -> None:
    for n in range(7):
        _instance(short, f"i{n}", "active", NOW - 3 * H - n * timedelta(seconds=1))
    progress: list[int] = []
    assert instances_check_heartbeats(now=NOW, chunk_size=3, progress=progress.append) == HeartbeatCheck(stale=7)
    assert progress == [3, 3, 1]
    assert StatusChange.objects.filter(new="stale").count() == 7
    assert Instance.objects.filter(status="stale").count() == 7


@pytest.mark.django_db
def test_a_late_run_dates_changes_from_last_seen_not_from_the_run(short: Product) -> None:
    _instance(short, "x", "active", NOW - 3 * H)
    instances_check_heartbeats(now=NOW + 30 * 24 * H)  # the checker was down for a month
    assert _changes() == [("x", "active", "stale", NOW - H), ("x", "stale", "dead", NOW + 21 * H)]


@pytest.mark.django_db
def test_thresholds_come_from_the_product(short: Product) -> None:
    _instance(short, "x", "active", NOW - 3 * H)
    short.stale_after = 4 * 3600
    short.save()
    assert instances_check_heartbeats(now=NOW) == HeartbeatCheck()
    short.stale_after = None  # default: 2 x interval + 1 h grace = 3 h
    short.save()
    assert instances_check_heartbeats(now=NOW + timedelta(seconds=1)) == HeartbeatCheck(stale=1)
    assert _changes() == [("x", "active", "stale", NOW)]


@pytest.mark.django_db
def test_command_runs_the_same_check(fleet: dict[str, Instance], capsys: pytest.CaptureFixture[str]) -> None:
    with time_machine.travel(NOW, tick=False):
        call_command("check_heartbeats")
    assert _changes() == EXPECTED
    assert "2 stale, 2 dead" in capsys.readouterr().out


@pytest.mark.django_db(transaction=True)
def test_two_checkers_at_once_record_each_change_exactly_once(short: Product) -> None:
    Instance.objects.bulk_create(
        Instance(product=short, instance_id=f"i{n}", status="active", first_seen=NOW - 50 * H,
                 last_seen=NOW - 3 * H - n * timedelta(seconds=1))
        for n in range(300)
    )
    results: list[HeartbeatCheck] = []
    errors: list[BaseException] = []
    start = threading.Barrier(2)

    def run() -> None:
        try:
            start.wait()
            results.append(instances_check_heartbeats(now=NOW, chunk_size=20))
        except BaseException as exc:  # surfaced below: a thread's exception would otherwise vanish
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert sum(r.stale for r in results) == 300
    assert StatusChange.objects.count() == 300
    assert StatusChange.objects.values("instance").distinct().count() == 300
    assert not Instance.objects.exclude(status="stale").exists()
