"""The ingest writer: one transaction per request, a fixed handful of set-based statements.

Statements for a request (each only when the request has something for it):
instances upsert-and-lock · lookup of instances named by events · events insert (ON CONFLICT DO
NOTHING RETURNING: the dedupe) · licences upsert · one UPDATE for all heartbeat-bearing instances
· installations upsert · install → instance links · dropped counters. Nothing runs per event.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction

from apps.events.services import EventRow, events_insert
from apps.ingest.envelope import HEARTBEAT, INSTALL, Envelope
from apps.ingest.pipeline import apply_collection
from apps.instances.services import (
    HeartbeatSeen,
    InstallStepSeen,
    InstanceState,
    installations_link,
    installations_record,
    instances_add_dropped,
    instances_apply_heartbeats,
    instances_lock_or_create,
    instances_lookup,
)
from apps.licenses.services import LicenseSeen, licenses_upsert


@dataclass(slots=True)
class Stored:
    accepted: int = 0  # records stored now
    duplicates: int = 0  # records whose message id was already stored
    dropped: int = 0  # records refused by the collection level or because the instance was erased
    instances: dict[str, InstanceState] = field(default_factory=dict)  # after this request
    erased: set[str] = field(default_factory=set)


def envelopes_store(*, product_id: int, envelopes: Sequence[Envelope], now: datetime) -> Stored:
    """Store prepared envelopes of one product atomically; the caller answers only after this returns."""
    with transaction.atomic():
        first_seen: dict[str, datetime] = {}
        for envelope in envelopes:
            if envelope.kind == HEARTBEAT:
                seen = first_seen.get(envelope.instance_id)
                first_seen[envelope.instance_id] = min(seen, envelope.timestamp) if seen else envelope.timestamp
        states = instances_lock_or_create(product_id=product_id, first_seen=first_seen, now=now)
        erased = set(first_seen) - states.keys()
        named = {e.instance_id for e in envelopes if e.kind != HEARTBEAT and e.instance_id} - states.keys() - erased
        found, erased_named = instances_lookup(product_id=product_id, instance_ids=named)
        states.update(found)
        erased |= erased_named
        kept = apply_collection(list(envelopes), instances=states, erased=erased)
        pk_of = {iid: state.pk for iid, state in states.items()}
        new_ids = events_insert(product_id=product_id, received_at=now, rows=[
            EventRow(instance_pk=pk_of.get(e.instance_id), kind=e.kind, name=e.name, message_id=e.message_id,
                     timestamp=e.timestamp, properties=e.properties)
            for e in kept.envelopes])
        new_heartbeats = [e for e in kept.envelopes if e.kind == HEARTBEAT and e.message_id in new_ids]
        _apply_heartbeats(product_id=product_id, heartbeats=new_heartbeats, states=states, now=now)
        installations_record(product_id=product_id, now=now, steps=[
            InstallStepSeen(install_id=e.install_id, step=e.step, timestamp=e.timestamp, os=e.os, error=e.error,
                            ip_hash=e.ip_hash, instance_pk=pk_of.get(e.instance_id))
            for e in kept.envelopes if e.kind == INSTALL])
        instances_add_dropped(dropped=kept.dropped_by_instance, now=now)
    return Stored(accepted=len(new_ids), duplicates=len(kept.envelopes) - len(new_ids), dropped=kept.dropped,
                  instances=states, erased=erased)


def _apply_heartbeats(*, product_id: int, heartbeats: list[Envelope], states: dict[str, InstanceState],
                      now: datetime) -> None:
    if not heartbeats:
        return
    licences: dict[str, LicenseSeen] = {}
    for e in sorted(heartbeats, key=lambda e: e.timestamp):
        if e.license_id:
            old = licences.get(e.license_id)
            licences[e.license_id] = LicenseSeen(type=e.license_type or (old.type if old else ""),
                                                 first_seen=old.first_seen if old else e.timestamp,
                                                 last_seen=e.timestamp)
    licence_pks = licenses_upsert(product_id=product_id, seen=licences, now=now)
    by_instance: dict[str, list[Envelope]] = {}
    for e in heartbeats:
        by_instance.setdefault(e.instance_id, []).append(e)
    fresh = [(iid, states[iid]) for iid in by_instance if states[iid].fresh]
    updates = [states[iid].plan([
        HeartbeatSeen(timestamp=e.timestamp, version=e.version, edition=e.edition, os=e.os, arch=e.arch,
                      context=e.context, ip_hash=e.ip_hash, license_pk=licence_pks.get(e.license_id),
                      metrics={e.metrics_key: e.metrics} if e.metrics else None)
        for e in group]) for iid, group in by_instance.items()]
    instances_apply_heartbeats(updates=updates, now=now)
    # An install run becomes the instance it installed: link by install id or by the installer's address.
    links = []
    for iid, state in fresh:
        newest = max(by_instance[iid], key=lambda e: e.timestamp)
        links.append((state.pk, next((e.install_id for e in by_instance[iid] if e.install_id), ""), newest.ip_hash))
    installations_link(product_id=product_id, links=links, now=now)
