"""Helpers every wire protocol shares: reading records, fields and times tolerantly but honestly."""

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

from apps.core.privacy import is_ip_address
from apps.core.timeutil import parse_timestamp
from apps.ingest.envelope import Envelope, Parsed, ProtocolError, RecordError, RecordInvalid

# Field names the seed products use for the same thing, in order of preference.
INSTANCE_KEYS = ("instanceId", "instance_id", "instance_uid", "$instance_id")
VERSION_KEYS = ("version", "app_version", "$app_version", "wasp_version", "hasura_version")
OS_KEYS = ("os", "$os", "os_platform")
ARCH_KEYS = ("arch", "os_arch")
CONTEXT_KEYS = ("ci", "context")
IP_FIELDS = ("ipAddress", "ip_address", "ip", "$ip")
ERROR_KEYS = ("error", "errorMessage", "error_message", "reason", "message")
_BOOKKEEPING_PREFIXES = ("$", "mp_")
# Limits every record is held to before any work is done with it (docs/integrations.md, "Limits").
# Deeper records are refused: the JSON encoder that derives message ids and writes rows stops at
# 254 levels, and no telemetry payload needs a tenth of that.
MAX_DEPTH = 100
MAX_KEYS_PER_OBJECT = 1_000
# Keys and list items at every level together: what one record may cost to scrub, hash and store.
MAX_MEMBERS_PER_RECORD = 10_000
MAX_KEY_LENGTH = 1_024
MAX_STRING_LENGTH = 65_536
# Numbers must fit a signed 64-bit integer (PostgreSQL bigint); fractions inside that range are
# fine. Beyond it, and for NaN and infinities, sums and casts overflow and jsonb refuses NaN.
MIN_NUMBER = -(2**63)
MAX_NUMBER = 2**63 - 1
# A request carries at most this many records: beyond it the answer is one clear 413, not one
# error per record, and a worker's memory stays bounded by the limit rather than by the body.
MAX_RECORDS_PER_REQUEST = 10_000
# Client times outside these bounds are refused: any skew correction between two times inside them
# stays inside datetime's range, and nothing real is sent from before 1970 or after 2100.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def batch_items(body: Any, *, batch_key: str = "batch") -> tuple[list[Any], dict[str, Any]]:
    """The records of a body that is one record, a list of records or `{batch_key: [...], ...shared}`."""
    if isinstance(body, dict):
        items = body.get(batch_key)
        if items is not None:
            if not isinstance(items, list):
                raise ProtocolError(f"`{batch_key}` must be a list of records.")
            _check_shared(body, batch_key)
            return _counted(items), body
        return [body], body
    if isinstance(body, list):
        return _counted(body), {}
    raise ProtocolError("The body must be a JSON object or a list of objects.")


def _counted(items: list[Any]) -> list[Any]:
    if len(items) > MAX_RECORDS_PER_REQUEST:
        raise ProtocolError(f"A request may carry at most {MAX_RECORDS_PER_REQUEST} records; this one has "
                            f"{len(items)}. Send them in smaller batches.", "too_many_records", status_code=413)
    return items


def _check_shared(body: dict[str, Any], batch_key: str) -> None:
    """Fields a batch shares with every record (Segment's `context`, `sentAt`) are held to the same limits."""
    problem = limits_problem({key: value for key, value in body.items() if key != batch_key})
    if problem:
        raise ProtocolError(f"The batch's shared fields: {problem.message}", problem.code)


def read_records(items: list[Any], build: Callable[[dict[str, Any]], Envelope | None]) -> Parsed:
    """Build one envelope per record; a record that cannot be read is reported by index, not fatal."""
    parsed = Parsed(total=len(items))
    for index, item in enumerate(items):
        try:
            if not isinstance(item, dict):
                raise RecordInvalid("invalid_record", "A record must be a JSON object.")
            problem = limits_problem(item)
            if problem:
                raise problem
            envelope = build(item)
        except RecordInvalid as exc:
            parsed.errors.append(RecordError(index, exc.code, exc.message))
            continue
        if envelope is not None:
            envelope.index = index
            parsed.envelopes.append(envelope)
    return parsed


def limits_problem(record: dict[str, Any]) -> RecordInvalid | None:
    """The first limit `record` breaks, found in one iterative walk (no depth can overflow the check)."""
    members = 0
    stack: list[tuple[dict[str, Any] | list[Any], int]] = [(record, 1)]
    while stack:
        container, depth = stack.pop()
        if depth > MAX_DEPTH:
            return RecordInvalid("too_deep", f"A record may nest objects and lists at most {MAX_DEPTH} deep.")
        members += len(container)
        if members > MAX_MEMBERS_PER_RECORD:
            return RecordInvalid("too_many_keys", f"A record may hold at most {MAX_MEMBERS_PER_RECORD} keys and "
                                 "list items in all.")
        if isinstance(container, dict):
            if len(container) > MAX_KEYS_PER_OBJECT:
                return RecordInvalid("too_many_keys", f"An object may hold at most {MAX_KEYS_PER_OBJECT} keys.")
            if container and max(map(len, container)) > MAX_KEY_LENGTH:
                longest = max(container, key=len)
                return RecordInvalid("too_long", f"A key may be at most {MAX_KEY_LENGTH} characters long "
                                     f"(one starts {longest[:40]!r}).")
            values: Iterable[Any] = container.values()
        else:
            values = container
        for value in values:
            if isinstance(value, str):
                if len(value) > MAX_STRING_LENGTH:
                    return RecordInvalid("too_long", f"A string may be at most {MAX_STRING_LENGTH} characters long.")
            elif isinstance(value, dict | list):
                stack.append((value, depth + 1))
            # NaN compares false. A float of exactly -2**63 is an integer one below it, rounded by the parser.
            elif (isinstance(value, int | float) and not MIN_NUMBER < value <= MAX_NUMBER
                  and not (value == MIN_NUMBER and type(value) is int)):
                return RecordInvalid("number_out_of_range", f"Numbers must be finite and lie between {MIN_NUMBER} "
                                     f"and {MAX_NUMBER} (a 64-bit integer's range); {value!r} does not.")
    return None


def first(mapping: dict[str, Any] | None, keys: Iterable[str]) -> Any:
    if not mapping:
        return None
    for key in keys:
        value = mapping.get(key)
        if value is not None and value != "":
            return value
    return None


def text(value: Any, field: str) -> str:
    """A scalar as text (versions sometimes arrive as numbers); objects are an error."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise RecordInvalid("invalid_field", f"`{field}` must be a string.")


def loose_text(value: Any) -> str:
    """A descriptive field read from free-form properties: objects there are someone else's data, not an error."""
    return "" if isinstance(value, dict | list) else text(value, "")


def mapping(value: Any, field: str) -> dict[str, Any]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return value
    raise RecordInvalid("invalid_field", f"`{field}` must be an object.")


def time_of(value: Any, field: str) -> datetime | None:
    if value is None or value == "":
        return None
    try:
        parsed = parse_timestamp(value)
    except OverflowError:  # an offset that pushes the time out of the calendar (9999-12-31T23:59:59-01:00)
        parsed = None
    if parsed is None:
        raise RecordInvalid("invalid_timestamp", f"`{field}` is not an ISO 8601 time or epoch number within "
                            "the calendar.")
    if not EARLIEST <= parsed < LATEST:
        raise RecordInvalid("invalid_timestamp", f"`{field}` must lie between {EARLIEST:%Y-%m-%d} and "
                            f"{LATEST:%Y-%m-%d} UTC.")
    return parsed


def mixpanel_time(properties: dict[str, Any]) -> datetime | None:
    """Mixpanel-style exports keep the client time in `properties.time` (epoch seconds).

    Only a fallback, and lenient: elsewhere `time` may be any property an app chose to send.
    """
    value = properties.get("time")
    parsed = parse_timestamp(value) if isinstance(value, int | float) else None
    return parsed if parsed is not None and EARLIEST <= parsed < LATEST else None


def ip_of(*candidates: Any) -> str:
    """The first candidate that is an IP address (the pipeline hashes it; nothing keeps it raw)."""
    for candidate in candidates:
        if isinstance(candidate, str) and is_ip_address(candidate):
            return candidate.strip()
    return ""


def heartbeat_metrics(properties: dict[str, Any]) -> dict[str, Any] | None:
    """What a Segment/PostHog heartbeat says about its instance's size.

    Its `metrics` object when it has one; otherwise its whole-number properties (Appsmith's daily
    `instance_stats`: numOrgs, numApps, numUsers …), leaving out the tools' own bookkeeping
    (`$…`, `mp_…`) and booleans, which are settings, not counts.
    """
    metrics = properties.get("metrics")
    if isinstance(metrics, dict):
        return metrics
    counts = {key: value for key, value in properties.items()
              if type(value) is int and not key.startswith(_BOOKKEEPING_PREFIXES)}
    return counts or None


def without(payload: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    dropped = set(keys)
    return {key: value for key, value in payload.items() if key not in dropped}
