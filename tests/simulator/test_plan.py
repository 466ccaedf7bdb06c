"""The simulated fleet's life plans: deterministic, varied, and faithful to what they promise."""

import random
from datetime import UTC, datetime, timedelta

from apps.simulator.plan import make_plans

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
START = NOW - timedelta(days=30)
RELEASES = ["1.0", "1.1", "1.2", "2.0"]


def _plans(seed: int = 1, count: int = 200) -> list:
    return make_plans(rng=random.Random(seed), count=count, window_start=START, now=NOW, releases=RELEASES)


def test_same_seed_same_fleet() -> None:
    assert [(p.uid, p.start, p.versions) for p in _plans(5)] == [(p.uid, p.start, p.versions) for p in _plans(5)]
    assert _plans(5)[0].uid != _plans(6)[0].uid


def test_fleet_has_every_kind_of_life() -> None:
    plans = _plans()
    assert any(p.stop for p in plans) and any(p.gap for p in plans)
    assert any(len(p.versions) > 1 for p in plans) and any(p.install_failures for p in plans)
    assert any(p.installed_here for p in plans) and any(not p.installed_here for p in plans)


def test_heartbeats_respect_gaps_stops_and_upgrades() -> None:
    interval = timedelta(hours=2)
    for plan in _plans():
        times = plan.heartbeat_times(interval, START, NOW)
        assert all(START <= t <= NOW and t > plan.start for t in times)
        if plan.gap:
            assert not [t for t in times if plan.gap[0] <= t < plan.gap[1]]
            assert [t for t in times if t >= plan.gap[1]] or plan.gap[1] > NOW - interval
        if plan.stop:
            assert all(t <= plan.stop for t in times)
        versions = [plan.version_at(t) for t in times]
        assert versions == sorted(versions, key=RELEASES.index)
