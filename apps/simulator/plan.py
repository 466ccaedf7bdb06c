"""The life of each simulated instance, decided up front from a seeded random generator.

Product-agnostic: when an instance starts, the days it is silent (a gap it comes back from, or the
day it stops for good), when it upgrades, whether its install failed first. The product modules
turn a plan into that product's real payloads.
"""

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass
class InstancePlan:
    index: int
    uid: str
    start: datetime            # first heartbeat (setup complete)
    stop: datetime | None      # goes silent for good after this
    gap: tuple[datetime, datetime] | None  # silent between these, then comes back
    versions: list[tuple[datetime, str]]   # (from when, version), ascending
    install_failures: int      # failed install attempts before the one that worked
    installed_here: bool       # installed inside the simulated window (so its funnel is in range)
    phase: timedelta           # offset of its heartbeats inside the interval
    extra: dict = field(default_factory=dict)  # product-specific choices (edition, licence, ...)

    def version_at(self, when: datetime) -> str:
        current = self.versions[0][1]
        for since, version in self.versions:
            if since <= when:
                current = version
        return current

    def alive_at(self, when: datetime) -> bool:
        if when < self.start or (self.stop and when > self.stop):
            return False
        return not (self.gap and self.gap[0] <= when < self.gap[1])

    def heartbeat_times(self, interval: timedelta, window_start: datetime, until: datetime) -> list[datetime]:
        """Keep-alive times inside the window (the setup ping at `start` is sent separately)."""
        when = max(self.start, window_start) + self.phase
        if when <= self.start:
            when += interval
        times = []
        while when <= until:
            if self.alive_at(when):
                times.append(when)
            when += interval
        return times


def uid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def hex_id(rng: random.Random, length: int = 24) -> str:
    return f"{rng.getrandbits(4 * length):0{length}x}"


def make_plans(*, rng: random.Random, count: int, window_start: datetime, now: datetime,
               releases: list[str], id_factory: Callable[[random.Random], str] = uid) -> list[InstancePlan]:
    """`count` instances: most already running when the window opens, some installed during it;
    about one in seven goes silent for a few days and comes back, one in eight stops for good."""
    plans = []
    span = now - window_start
    for index in range(count):
        installed_here = index == 0 or rng.random() < 0.35
        start = (window_start + span * rng.uniform(0.0, 0.85)) if installed_here else \
            window_start - timedelta(days=rng.uniform(1, 120))
        start = start.replace(microsecond=0)
        stop = gap = None
        # Every fleet of four or more has at least one instance that stops and one that comes back.
        roll = {1: 0.0, 2: 0.2}.get(index, rng.random())
        if roll < 0.12:
            stop = max(start, window_start) + (now - max(start, window_start)) * rng.uniform(0.2, 0.8)
        elif roll < 0.27:
            gap_start = max(start, window_start) + (now - max(start, window_start)) * rng.uniform(0.1, 0.6)
            gap = (gap_start, gap_start + timedelta(days=rng.uniform(2, 6)))
        plans.append(InstancePlan(
            index=index, uid=id_factory(rng), start=start, stop=stop, gap=gap,
            versions=_versions(rng, releases, start, now),
            install_failures=1 if rng.random() < 0.25 else 0, installed_here=installed_here,
            phase=timedelta(minutes=rng.randrange(0, 120))))
    return plans


def _versions(rng: random.Random, releases: list[str], start: datetime, now: datetime) -> list[tuple[datetime, str]]:
    """Start on an older release; some upgrade once or twice, the later the newer."""
    first = rng.randrange(0, max(1, len(releases) - 1))
    versions = [(start, releases[first])]
    current, when = first, start
    for _ in range(rng.choice([0, 0, 1, 1, 2])):
        if current + 1 >= len(releases):
            break
        current += 1
        when = when + (now - when) * rng.uniform(0.2, 0.7)
        versions.append((when, releases[current]))
    return versions
