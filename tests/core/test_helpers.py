from datetime import UTC, datetime, timedelta

import pytest

from apps.core.privacy import is_ip_address, keyed_hash
from apps.core.timeutil import corrected_timestamp, parse_timestamp
from apps.core.versions import Version, in_range, is_outdated


def test_parse_timestamp_accepts_iso_and_epoch() -> None:
    assert parse_timestamp("2020-11-04T10:52:14.616Z") == datetime(2020, 11, 4, 10, 52, 14, 616000, tzinfo=UTC)
    assert parse_timestamp("2019-01-21T19:43:33.63838+00:00") == datetime(2019, 1, 21, 19, 43, 33, 638380,
                                                                          tzinfo=UTC)
    assert parse_timestamp(1704784217.602) == datetime(2024, 1, 9, 7, 10, 17, 602000, tzinfo=UTC)
    assert parse_timestamp(1704784233604) == datetime(2024, 1, 9, 7, 10, 33, 604000, tzinfo=UTC)
    assert parse_timestamp("not a time") is None
    assert parse_timestamp(True) is None


def test_skew_correction_follows_segment() -> None:
    received = datetime(2024, 1, 1, 12, 0, tzinfo=UTC)
    # The client clock is 1 hour behind: it sent at 11:00 an event it recorded at 10:59.
    client = datetime(2024, 1, 1, 10, 59, tzinfo=UTC)
    sent = datetime(2024, 1, 1, 11, 0, tzinfo=UTC)
    assert corrected_timestamp(client_time=client, sent_at=sent, received_at=received) == received - timedelta(
        minutes=1)


def test_future_timestamps_are_clamped() -> None:
    received = datetime(2024, 1, 1, tzinfo=UTC)
    future = received + timedelta(days=2)
    assert corrected_timestamp(client_time=future, sent_at=None, received_at=received) == received
    near = received + timedelta(hours=2)
    assert corrected_timestamp(client_time=near, sent_at=None, received_at=received) == near


@pytest.mark.parametrize(("older", "newer"), [
    ("v1.9.15", "v1.9.56"), ("v1.0.0-alpha36", "v1.0.0"), ("0.1.9.1", "0.1.10"), ("v2.9.0", "v2.23.0"),
])
def test_version_order(older: str, newer: str) -> None:
    assert Version(older) < Version(newer)
    assert is_outdated(older, newer)
    assert not is_outdated(newer, older)


def test_version_ranges() -> None:
    assert in_range("v1.9.15", "v1.9.0", "v1.9.20")
    assert not in_range("v1.10.0", "", "v1.9.99")
    assert in_range("v3.0.0", "v2.0.0", "")


def test_keyed_hash_is_stable_and_not_raw() -> None:
    assert keyed_hash("117.211.16.3") == keyed_hash("117.211.16.3")
    assert "117.211.16.3" not in keyed_hash("117.211.16.3")
    assert is_ip_address("111.65.255.130") and is_ip_address("::1")
    assert not is_ip_address("609ce8fb4092701c69df9846")


def test_absurd_skew_falls_back_to_receive_time() -> None:
    received = datetime(2024, 1, 1, tzinfo=UTC)
    ancient = datetime(71, 7, 9, tzinfo=UTC)
    far_future = datetime(4565, 7, 12, tzinfo=UTC)
    assert corrected_timestamp(client_time=ancient, sent_at=far_future, received_at=received) == received
