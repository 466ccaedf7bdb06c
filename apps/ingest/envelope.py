"""The one internal shape every wire protocol becomes, and what protocols share to describe errors."""

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

HEARTBEAT = "heartbeat"
INSTALL = "install"
EVENT = "event"
# An instance whose admin turned telemetry off says so once a day, anonymously: counted, never identified.
OPT_OUT = "opt_out"
KINDS = (HEARTBEAT, INSTALL, EVENT, OPT_OUT)
INSTALL_STEPS = ("started", "succeeded", "failed", "support")
# The `context` of an instance running a development build: kept, filterable, out of production counts.
DEVELOPMENT_CONTEXT = "development"


@dataclass(slots=True)
class Envelope:
    """One record of a request, whatever protocol carried it.

    Adapters fill what the wire format says; the pipeline then sets `timestamp` (skew-corrected),
    `received_at`, `ip_hash`, `country` and `message_id` (derived when the sender gave none), scrubs
    `properties`, and clears `ip`, so nothing raw reaches the writer.
    """

    kind: str
    name: str
    index: int = 0  # position in the request, for per-record errors
    instance_id: str = ""
    message_id: str = ""
    client_time: datetime | None = None  # the sender's clock, as sent
    sent_at: datetime | None = None  # the sender's clock when it sent the request (Segment sentAt)
    offset_ms: float | None = None  # PostHog-style "this happened N ms before sending"
    timestamp: datetime | None = None  # client time corrected for skew (set by the pipeline)
    received_at: datetime | None = None
    version: str = ""
    edition: str = ""
    os: str = ""
    arch: str = ""
    context: str = ""  # CI system or run context
    metrics: dict[str, Any] | None = None
    metrics_key: str = ""  # the kind of ping the metrics belong to; kinds never overwrite each other
    license_id: str = ""
    license_type: str = ""
    properties: dict[str, Any] = field(default_factory=dict)
    consent: bool = False  # the payload explicitly consents to keeping e-mail and name
    install_id: str = ""
    step: str = ""
    error: str = ""  # why an install failed
    ip: str = ""  # an IP address the payload carried; hashed and cleared by the pipeline
    ip_hash: str = ""
    country: str = ""  # ISO 3166-1 alpha-2 of the address, looked up before it is hashed (heartbeats)
    token: str = ""  # a per-event ingest key (PostHog puts one on each event)


@dataclass(frozen=True, slots=True)
class RecordError:
    index: int
    code: str
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {"index": self.index, "code": self.code, "message": self.message}


class RecordInvalid(Exception):
    """Raised while reading one record; the record is reported by index and the rest go on."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class ProtocolError(Exception):
    """The body as a whole is not this protocol (or breaks a limit): the request is rejected with a 4xx."""

    def __init__(self, message: str, code: str = "invalid_body", *, status_code: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status_code = status_code


@dataclass(frozen=True, slots=True)
class EventRules:
    """The product's event-name mapping, as plain data so protocols stay free of the database."""

    heartbeat_events: frozenset[str] = frozenset()
    install_events: dict[str, str] = field(default_factory=dict)

    def kind_of(self, name: str) -> tuple[str, str]:
        """(kind, install step) for a Segment/PostHog event name."""
        if name in self.heartbeat_events:
            return HEARTBEAT, ""
        step = self.install_events.get(name)
        if step:
            return INSTALL, step
        return EVENT, ""


@dataclass(slots=True)
class Parsed:
    envelopes: list[Envelope] = field(default_factory=list)
    errors: list[RecordError] = field(default_factory=list)
    total: int = 0  # records in the request
