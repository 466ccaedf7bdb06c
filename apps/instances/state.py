"""An instance's state as a heartbeat sees it, and the plan of its next state: logic on one row, no database.

The ingest writer reads the states of the instances a write names (apps/instances/services/heartbeats.py)
and `InstanceState.plan` turns an instance's new heartbeats into its next row.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from apps.instances.models import InstanceStatus

_REVIVED_BY_HEARTBEAT = (InstanceStatus.NEW, InstanceStatus.STALE, InstanceStatus.DEAD)
# Text columns a heartbeat describes; an empty value keeps what the row has.
DESCRIBED = ("version", "edition", "os", "arch", "context", "ip_hash", "country")


@dataclass(frozen=True, slots=True)
class HeartbeatSeen:
    timestamp: datetime
    version: str = ""
    edition: str = ""
    os: str = ""
    arch: str = ""
    context: str = ""
    ip_hash: str = ""
    country: str = ""
    metrics: Mapping[str, Any] | None = None  # {kind of ping: its metrics}
    license_pk: int | None = None


@dataclass(frozen=True, slots=True)
class InstanceUpdate:
    pk: int
    first_seen: datetime
    last_seen: datetime
    status: str
    status_change: tuple[str, str, datetime] | None
    version: str
    edition: str
    os: str
    arch: str
    context: str
    ip_hash: str
    country: str
    metrics: dict[str, Any] | None
    license_pk: int | None
    added: int


@dataclass(slots=True)
class InstanceState:
    """An instance as the ingest writer sees it (locked when it came from `instances_lock_or_create`)."""

    pk: int
    instance_id: str
    collection: str
    status: str
    first_seen: datetime
    last_seen: datetime
    heartbeat_count: int
    version: str
    metrics: dict[str, Any] | None = None

    @property
    def fresh(self) -> bool:
        """No heartbeat recorded yet: created by this request (or by hand, which counts the same)."""
        return self.heartbeat_count == 0

    def plan(self, heartbeats: Sequence[HeartbeatSeen]) -> InstanceUpdate:
        """The row after these new (never seen before) heartbeats.

        Descriptive fields follow the heartbeats that move `last_seen` forward, so a delayed old
        ping cannot roll the version back; metrics of each kind of ping replace only that kind.
        A heartbeat newer than `last_seen` makes a new, stale or dead instance active, except
        the very first one, which leaves a fresh instance `new`; a fresh instance's second
        heartbeat makes it active even when both arrive in one request. This state's `version`
        and `status` move to the new ones, so the caller can answer the instance with them.
        """
        ordered = sorted(heartbeats, key=lambda hb: hb.timestamp)
        fresh = self.fresh
        advancing = [hb for hb in ordered if fresh or hb.timestamp > self.last_seen]
        described: dict[str, str] = dict.fromkeys(DESCRIBED, "")
        for hb in advancing:
            for name in described:
                described[name] = getattr(hb, name) or described[name]
        metrics: dict[str, Any] | None = None
        license_pk: int | None = None
        for hb in ordered:
            if hb.metrics:
                metrics = {**(metrics if metrics is not None else self.metrics or {}), **hb.metrics}
            license_pk = hb.license_pk or license_pk
        status, change = self.status, None
        # The heartbeat that revives: the first one that advances, or for a fresh instance the second.
        reviving = advancing[1:] if fresh else advancing
        if reviving and self.status in _REVIVED_BY_HEARTBEAT:
            status = InstanceStatus.ACTIVE
            change = (self.status, status, reviving[0].timestamp)
        if described["version"]:
            self.version = described["version"]
        self.status = status
        return InstanceUpdate(
            pk=self.pk,
            first_seen=ordered[0].timestamp if fresh else min(self.first_seen, ordered[0].timestamp),
            last_seen=ordered[-1].timestamp if fresh else max(self.last_seen, ordered[-1].timestamp),
            status=status, status_change=change, metrics=metrics, license_pk=license_pk,
            added=len(ordered), **described,
        )
