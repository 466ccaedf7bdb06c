"""Between the protocols and the writer; knows nothing of wire formats.

`prepare` runs before the database is touched: validate, correct clock skew, protect privacy
(look up a heartbeat's country, then hash addresses, scrub personal data), give every record a
message id, drop repeats inside the request. It never touches the database: what the instances'
collection levels keep is decided by the writer, inside its transaction (apps/ingest/collection.py).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from hashlib import blake2b

import orjson

from apps.core.geo import country_of
from apps.core.privacy import keyed_hash, may_hold_personal_data, redact, scrub
from apps.core.timeutil import corrected_timestamp
from apps.ingest.envelope import HEARTBEAT, INSTALL, INSTALL_STEPS, OPT_OUT, Envelope, Parsed, RecordError

# Column sizes of the rows these fields end up in.
MAX_LENGTHS = {"name": 200, "instance_id": 200, "message_id": 200, "install_id": 200, "version": 64, "edition": 64,
               "os": 64, "arch": 32, "context": 64, "license_id": 200, "license_type": 64}
_ALWAYS_CHECKED = ("name", "instance_id", "message_id", "install_id")
# Descriptive fields are stored only from heartbeats (and an install's os): an ordinary event
# whose free-form properties happen to hold a long "version" is not refused for it.
_CHECKED: dict[str, tuple[str, ...]] = {HEARTBEAT: tuple(MAX_LENGTHS), INSTALL: (*_ALWAYS_CHECKED, "os"),
                                        OPT_OUT: ("message_id", "version", "os")}
# Every free-text field of an envelope is searched for addresses and e-mails, ids included: an id that
# is (or holds) one becomes a keyed hash, the same every time, so the instance or run stays one.
_IDENTIFYING = ("instance_id", "install_id", "message_id", "license_id")
_SEARCHED = (*_IDENTIFYING, "name", "version", "edition", "os", "arch", "context", "license_type", "error")
# A payload without a message id and without a client time is told apart from a later identical
# one only by when it arrived: identical copies within the same UTC hour count as one (a retry).
DERIVED_ID_WINDOW = "%Y-%m-%dT%H"


@dataclass(slots=True)
class Prepared:
    envelopes: list[Envelope] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    duplicates: int = 0  # repeats of a message id within the request


def prepare(parsed: Parsed, *, received_at: datetime, request_ip: str) -> Prepared:
    out = Prepared(errors=list(parsed.errors))
    seen: set[str] = set()
    for envelope in parsed.envelopes:
        problem = invalid(envelope)
        if problem:
            out.errors.append(RecordError(envelope.index, *problem))
            continue
        correct_time(envelope, received_at)
        protect(envelope, request_ip)
        if not envelope.message_id:
            envelope.message_id = derived_message_id(envelope, received_at)
        if envelope.message_id in seen:
            out.duplicates += 1
            continue
        seen.add(envelope.message_id)
        out.envelopes.append(envelope)
    out.errors.sort(key=lambda error: error.index)
    return out


def invalid(envelope: Envelope) -> tuple[str, str] | None:
    """(code, message) when the record cannot be stored."""
    if not envelope.name:
        return "missing_field", "An event name is required."
    if envelope.kind == HEARTBEAT and not envelope.instance_id:
        return "missing_field", "A heartbeat needs the id of its instance."
    if envelope.kind == INSTALL:
        if envelope.step not in INSTALL_STEPS:
            return "invalid_field", f"An install step must be one of {', '.join(INSTALL_STEPS)}."
        if not envelope.install_id and not envelope.ip:
            return "missing_field", "An install step needs the id of its install run."
    for name in _CHECKED.get(envelope.kind, _ALWAYS_CHECKED):
        if len(getattr(envelope, name)) > MAX_LENGTHS[name]:
            return "invalid_field", f"`{name}` is longer than {MAX_LENGTHS[name]} characters."
    return None


def correct_time(envelope: Envelope, received_at: datetime) -> None:
    envelope.received_at = received_at
    client_time, sent_at = envelope.client_time, envelope.sent_at
    if client_time is None and envelope.offset_ms is not None:
        try:
            client_time, sent_at = received_at - timedelta(milliseconds=envelope.offset_ms), None
        except OverflowError:  # an offset beyond datetime's range says the clock is garbage
            client_time, sent_at = None, None
    envelope.timestamp = corrected_timestamp(client_time=client_time, sent_at=sent_at, received_at=received_at)


def protect(envelope: Envelope, request_ip: str) -> None:
    """No raw address survives: heartbeats and installs keep a keyed hash of theirs, the rest nothing.

    Server-side pings (heartbeats, installers) come from the instance itself, so the request's
    address is the instance's when the payload names none; a browser event's address is a
    person's and is never kept in any form. A heartbeat's country is read from the address
    before it is hashed. An opt-out keeps its version and os and nothing else: no address in
    any form, no properties.
    """
    if envelope.kind == OPT_OUT:
        envelope.ip = ""
        envelope.properties = {"version": envelope.version, "os": envelope.os}
        envelope.metrics = None
        return
    if envelope.kind in (HEARTBEAT, INSTALL):
        address = envelope.ip or request_ip
        envelope.ip_hash = keyed_hash(address) if address else ""
        if envelope.kind == HEARTBEAT:
            envelope.country = country_of(address, address_hash=envelope.ip_hash)
        if envelope.kind == INSTALL and not envelope.install_id:
            envelope.install_id = f"ip-{keyed_hash(envelope.ip)[:32]}"
    envelope.ip = ""
    redact_fields(envelope)
    envelope.properties = scrub(envelope.properties, consent=envelope.consent)
    if envelope.metrics:
        envelope.metrics = scrub(envelope.metrics, consent=False)


def redact_fields(envelope: Envelope) -> None:
    """Addresses and e-mails in the envelope's own fields become keyed hashes.

    A token is longer than a short address, so a field that grows past its column becomes one
    keyed hash of the whole (ids: still the same every time) or, for descriptions, is cut.
    """
    for name in _SEARCHED:
        value = getattr(envelope, name)
        if not value or not may_hold_personal_data(value):
            continue
        redacted = redact(value)
        limit = MAX_LENGTHS.get(name)
        if limit is not None and len(redacted) > limit:
            redacted = f"h-{keyed_hash(redacted)}"[:limit] if name in _IDENTIFYING else redacted[:limit]
        setattr(envelope, name, redacted)


def derived_message_id(envelope: Envelope, received_at: datetime) -> str:
    """A deterministic id from the record's content, so a retried identical request is stored once."""
    anchor = envelope.client_time.isoformat() if envelope.client_time else received_at.strftime(DERIVED_ID_WINDOW)
    material = orjson.dumps(
        [envelope.kind, envelope.name, envelope.instance_id, envelope.install_id, envelope.step, anchor,
         envelope.version, envelope.properties, envelope.metrics],
        option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS,
    )
    return "auto-" + blake2b(material, digest_size=16).hexdigest()
