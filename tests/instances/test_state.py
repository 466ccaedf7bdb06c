"""`InstanceState.plan` on its own (no database): every transition of an instance's row after new heartbeats."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from apps.instances.models import InstanceStatus
from apps.instances.state import HeartbeatSeen, InstanceState

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
M = timedelta(minutes=1)


def state(**fields: Any) -> InstanceState:
    """A known instance (one heartbeat so far, at T0) unless the fields say otherwise."""
    base: dict[str, Any] = {"pk": 7, "instance_id": "i-1", "collection": "full", "status": InstanceStatus.ACTIVE,
                            "first_seen": T0 - 60 * M, "last_seen": T0, "heartbeat_count": 1, "version": "1.0.0",
                            "metrics": {"cli": {"runs": 1}}}
    return InstanceState(**{**base, **fields})


def fresh(**fields: Any) -> InstanceState:
    """Just created by the write's upsert: no heartbeat counted yet, status new, first/last seen = now."""
    return state(status=InstanceStatus.NEW, heartbeat_count=0, first_seen=T0, last_seen=T0, version="", metrics={},
                 **fields)


def hb(minutes: int, **fields: Any) -> HeartbeatSeen:
    return HeartbeatSeen(timestamp=T0 + minutes * M, **fields)


# --- a new instance ---------------------------------------------------------------------------------------


def test_the_first_heartbeat_of_a_new_instance_keeps_it_new_and_describes_it() -> None:
    s = fresh()
    update = s.plan([hb(-5, version="2.0.0", edition="ee", os="linux", arch="arm64", context="prod",
                        ip_hash="h", country="DE")])
    assert (update.status, update.status_change) == (InstanceStatus.NEW, None)
    # A fresh row's times are the heartbeat's, even when it is older than the row's placeholder.
    assert (update.first_seen, update.last_seen) == (T0 - 5 * M, T0 - 5 * M)
    assert (update.version, update.edition, update.os, update.arch, update.context, update.ip_hash,
            update.country) == ("2.0.0", "ee", "linux", "arm64", "prod", "h", "DE")
    assert update.added == 1
    assert (s.version, s.status) == ("2.0.0", InstanceStatus.NEW)


def test_two_heartbeats_of_a_new_instance_in_one_request_make_it_active_at_the_second() -> None:
    s = fresh()
    update = s.plan([hb(3, version="2.0.1"), hb(1, version="2.0.0")])
    assert update.status == InstanceStatus.ACTIVE
    assert update.status_change == (InstanceStatus.NEW, InstanceStatus.ACTIVE, T0 + 3 * M)
    assert (update.first_seen, update.last_seen, update.version, update.added) == (T0 + M, T0 + 3 * M, "2.0.1", 2)
    assert s.status == InstanceStatus.ACTIVE


def test_a_new_instance_s_next_heartbeat_makes_it_active() -> None:
    update = state(status=InstanceStatus.NEW).plan([hb(5)])
    assert update.status_change == (InstanceStatus.NEW, InstanceStatus.ACTIVE, T0 + 5 * M)


# --- a known instance -------------------------------------------------------------------------------------


def test_a_newer_heartbeat_moves_last_seen_and_the_description() -> None:
    s = state()
    update = s.plan([hb(10, version="1.1.0", os="linux")])
    assert (update.first_seen, update.last_seen) == (T0 - 60 * M, T0 + 10 * M)
    assert (update.version, update.os, update.status, update.status_change) == ("1.1.0", "linux", "active", None)
    assert s.version == "1.1.0"


def test_empty_fields_keep_what_the_row_has() -> None:
    update = state().plan([hb(10)])
    # "" in the update means "keep the stored value" (the UPDATE's COALESCE(NULLIF(…, ''), …)).
    assert (update.version, update.edition, update.os, update.country) == ("", "", "", "")


def test_the_last_non_empty_value_of_each_field_wins() -> None:
    update = state().plan([hb(3, version="1.1.0", os="linux"), hb(5, version="1.2.0"), hb(4, arch="x86_64")])
    assert (update.version, update.os, update.arch) == ("1.2.0", "linux", "x86_64")


@pytest.mark.parametrize("old", [InstanceStatus.STALE, InstanceStatus.DEAD])
def test_a_stale_or_dead_instance_comes_back_at_its_first_newer_heartbeat(old: str) -> None:
    s = state(status=old)
    update = s.plan([hb(30), hb(20), hb(-5)])
    assert update.status == InstanceStatus.ACTIVE
    assert update.status_change == (old, InstanceStatus.ACTIVE, T0 + 20 * M)
    assert s.status == InstanceStatus.ACTIVE


def test_an_active_instance_stays_active_without_a_status_change() -> None:
    update = state().plan([hb(1)])
    assert (update.status, update.status_change) == (InstanceStatus.ACTIVE, None)


# --- late and out-of-order heartbeats (clock skew, retries after an outage) --------------------------------


@pytest.mark.parametrize("old", [InstanceStatus.STALE, InstanceStatus.DEAD, InstanceStatus.ACTIVE])
def test_a_delayed_old_heartbeat_neither_revives_nor_rolls_the_version_back(old: str) -> None:
    s = state(status=old)
    update = s.plan([hb(-10, version="0.9.0", os="windows")])
    assert (update.status, update.status_change) == (old, None)
    assert (update.version, update.os) == ("", "")  # nothing described: the row keeps its own
    assert update.last_seen == T0  # last_seen never moves back
    assert update.added == 1  # but it was a heartbeat, and it counts
    assert s.version == "1.0.0"


def test_a_heartbeat_at_exactly_last_seen_does_not_advance() -> None:
    update = state(status=InstanceStatus.STALE).plan([hb(0, version="1.5.0")])
    assert (update.status, update.version) == (InstanceStatus.STALE, "")


def test_a_heartbeat_older_than_first_seen_moves_first_seen_back() -> None:
    update = state().plan([hb(-120)])
    assert (update.first_seen, update.last_seen) == (T0 - 120 * M, T0)


def test_only_the_newer_heartbeats_of_a_mixed_request_describe_the_row() -> None:
    update = state().plan([hb(-10, version="0.1.0", edition="old"), hb(10, os="linux")])
    assert (update.version, update.edition, update.os) == ("", "", "linux")


# --- metrics, licence ---------------------------------------------------------------------------------------


def test_metrics_of_a_kind_replace_only_that_kind() -> None:
    s = state(metrics={"cli": {"runs": 1}, "server": {"users": 3}})
    update = s.plan([hb(1, metrics={"server": {"users": 5}})])
    assert update.metrics == {"cli": {"runs": 1}, "server": {"users": 5}}


def test_metrics_merge_in_time_order_even_from_delayed_heartbeats() -> None:
    update = state(metrics=None).plan([hb(2, metrics={"a": {"n": 2}}), hb(-3, metrics={"a": {"n": 1}, "b": {"m": 1}})])
    assert update.metrics == {"a": {"n": 2}, "b": {"m": 1}}


def test_no_metrics_leave_the_stored_ones() -> None:
    assert state().plan([hb(1)]).metrics is None  # None: keep the column as it is


def test_the_last_licence_in_time_wins_and_none_keeps_the_stored_one() -> None:
    assert state().plan([hb(2, license_pk=4), hb(1, license_pk=3), hb(3)]).license_pk == 4
    assert state().plan([hb(2)]).license_pk is None


def test_fresh_means_no_heartbeat_counted() -> None:
    assert fresh().fresh
    assert not state().fresh
