"""What each instance's collection level keeps of a write: applied by the writer, inside its transaction,
once the instances' levels are known (a staff change committed before the write takes effect on it)."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from apps.ingest.envelope import HEARTBEAT, Envelope
from apps.instances.models import CollectionLevel


class HasCollection(Protocol):
    pk: int
    collection: str


@dataclass(slots=True)
class Collected:
    envelopes: list[Envelope] = field(default_factory=list)
    dropped: int = 0
    dropped_by_instance: dict[int, int] = field(default_factory=dict)


def apply_collection(envelopes: list[Envelope], *, instances: Mapping[str, HasCollection],
                     erased: set[str]) -> Collected:
    """Keep what each instance's collection level allows.

    `full` keeps everything; `heartbeat` keeps heartbeats (properties and metrics emptied) and
    drops the rest; `off` drops everything. Drops are counted per instance. Records of erased
    instances are dropped without a trace; so are heartbeats whose instance could not be kept.
    """
    out = Collected()
    for envelope in envelopes:
        state = instances.get(envelope.instance_id) if envelope.instance_id else None
        if envelope.instance_id in erased or (state is None and envelope.kind == HEARTBEAT):
            out.dropped += 1
            continue
        if state is not None and state.collection != CollectionLevel.FULL:
            if state.collection == CollectionLevel.OFF or envelope.kind != HEARTBEAT:
                out.dropped += 1
                out.dropped_by_instance[state.pk] = out.dropped_by_instance.get(state.pk, 0) + 1
                continue
            envelope.properties, envelope.metrics = {}, None
        out.envelopes.append(envelope)
    return out
