"""Parsing client timestamps and correcting their clock skew. Everything is UTC."""

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from django.utils.dateparse import parse_datetime

MAX_FUTURE = timedelta(days=1)


def parse_timestamp(value: Any) -> datetime | None:
    """An ISO 8601 string or epoch seconds/milliseconds as an aware UTC datetime; None if unusable."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        seconds = value / 1000 if value > 100_000_000_000 else value
        try:
            return datetime.fromtimestamp(seconds, tz=UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        return _parse_text(value)
    return None


# Performance: the events of a batch mostly share their timestamp and `sentAt` strings.
# datetimes are immutable, so handing out the same one again is safe.
@lru_cache(maxsize=4096)
def _parse_text(value: str) -> datetime | None:
    text = value.strip()
    if not text:
        return None
    try:
        parsed = parse_datetime(text.replace(" ", "T", 1) if "T" not in text else text)
    except ValueError:
        return None
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def corrected_timestamp(*, client_time: datetime | None, sent_at: datetime | None,
                        received_at: datetime) -> datetime:
    """The event's time on the server's clock.

    Segment's rule: timestamp = receivedAt - (sentAt - originalTimestamp), so a client clock that
    is off by hours still orders its events correctly. Times more than a day ahead are clamped.
    """
    if client_time is None:
        return received_at
    if sent_at is not None:
        try:
            client_time = received_at - (sent_at - client_time)
        except OverflowError:
            # A skew beyond datetime's range (e.g. sentAt in year 4565) says the clock is garbage.
            return received_at
    if client_time - received_at > MAX_FUTURE:
        return received_at
    return client_time
