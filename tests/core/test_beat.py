"""Exactly one beat: a second beat started by mistake sends nothing until the first is gone."""

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.utils import timezone
from django_celery_beat.models import IntervalSchedule, PeriodicTask

from apps.core.beat import LEASE, LeaseScheduler
from apps.core.models import Lease
from apps.core.services import lease_acquire, lease_holder, lease_release
from telemetry_site.celery import app

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.mark.django_db
def test_a_lease_has_one_holder_until_it_expires_or_is_given_up() -> None:
    assert lease_acquire(name="job", holder="a", now=NOW, seconds=30)
    assert not lease_acquire(name="job", holder="b", now=NOW + timedelta(seconds=1), seconds=30)
    assert lease_acquire(name="job", holder="a", now=NOW + timedelta(seconds=20), seconds=30)  # renewed
    assert not lease_acquire(name="job", holder="b", now=NOW + timedelta(seconds=49), seconds=30)
    assert lease_holder(name="job", now=NOW + timedelta(seconds=49)) == "a"
    # a stopped renewing: once its lease ran out, b takes it and a is refused.
    assert lease_acquire(name="job", holder="b", now=NOW + timedelta(seconds=50), seconds=30)
    assert not lease_acquire(name="job", holder="a", now=NOW + timedelta(seconds=51), seconds=30)
    lease_release(name="job", holder="a", now=NOW + timedelta(seconds=52))  # not a's to give up
    assert lease_holder(name="job", now=NOW + timedelta(seconds=52)) == "b"
    lease_release(name="job", holder="b", now=NOW + timedelta(seconds=53))
    assert lease_holder(name="job", now=NOW + timedelta(seconds=53)) is None
    assert lease_acquire(name="job", holder="a", now=NOW + timedelta(seconds=53), seconds=30)
    assert Lease.objects.count() == 1


class Recording(LeaseScheduler):
    """The real scheduler, with the broker left out: what it would send is recorded."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.sent: list[tuple[str, datetime]] = []
        super().__init__(*args, **kwargs)

    def apply_entry(self, entry: Any, producer: Any = None) -> None:
        self.sent.append((entry.name, timezone.now()))

    @property
    def producer(self) -> None:
        return None


@pytest.fixture
def schedulers() -> Any:
    """Schedulers made by the test; those still alive are stopped before the database goes."""
    made: list[Recording] = []

    def make() -> Recording:
        made.append(Recording(app=app))
        return made[-1]

    yield make
    for scheduler in made:
        scheduler._dirty.clear()  # a beat "killed" by the test writes nothing more
        scheduler._finalize.cancel()


def run(schedulers: list[Recording], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for scheduler in schedulers:
            scheduler.tick()
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_only_the_lease_holder_sends_and_a_standby_takes_over_when_it_dies(settings: Any, schedulers: Any) -> None:
    settings.BEAT_LEASE_SECONDS = 2
    every = IntervalSchedule.objects.create(every=1, period=IntervalSchedule.SECONDS)
    PeriodicTask.objects.create(name="tick", task="apps.instances.tasks.mark_stale_instances", interval=every)
    first, second = schedulers(), schedulers()
    run([first, second], 3.5)
    assert first.leading and not second.leading
    assert [name for name, _ in first.sent] and {name for name, _ in first.sent} == {"tick"}
    assert second.sent == []

    # The holder dies without a word (it never ticks or closes again): the standby sends nothing
    # while the lease it last renewed runs, then takes over.
    expires_at = Lease.objects.get(name=LEASE).expires_at
    run([second], 4)
    assert second.leading
    assert second.sent and min(at for _, at in second.sent) >= expires_at


@pytest.mark.django_db(transaction=True)
def test_a_beat_that_stops_cleanly_hands_over_at_once(settings: Any, schedulers: Any) -> None:
    settings.BEAT_LEASE_SECONDS = 600
    first, second = schedulers(), schedulers()
    assert first.hold() and not second.hold()
    first.close()
    assert second.hold()
