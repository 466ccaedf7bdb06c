"""The ingest writer: one transaction per request (or per group of requests), a fixed handful of
set-based statements.

Statements for a request (each only when the request has something for it):
instances upsert-and-lock · lookup of instances named by events · events insert (ON CONFLICT DO
NOTHING RETURNING: the dedupe) · licences upsert · one UPDATE for all heartbeat-bearing instances
(on PostgreSQL it also links the install runs that became new instances) · installations upsert
· install → instance links (SQLite) · dropped counters. Nothing runs per event.

The first statement for a product also reads its change stamp (the instances upsert returns it;
without heartbeats, `products_change_stamps`): a write prepared against an older copy of its
product (staff changed the key, the event mappings, the releases or the notices since this
process cached it) raises `ProductChanged`, which rolls the transaction back; the group commit
then stores each write of the group alone, and the view prepares the changed one again against
the product as it is now (apps/ingest/products.py).

`writes_store` stores several requests in one transaction with those same statements, once per
product (the group commit, apps/ingest/group_commit.py, hands it whatever has queued up). The
requests of a group must not overlap (`overlap_keys`); each then gets exactly the counts it would
have got alone.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.db import transaction

from apps.events.services import EventRow, events_insert
from apps.ingest.envelope import HEARTBEAT, INSTALL, Envelope
from apps.ingest.pipeline import apply_collection
from apps.ingest.products import ProductChanged
from apps.instances.services import (
    HeartbeatSeen,
    InstallEvidence,
    InstallStepSeen,
    InstanceState,
    installations_record,
    instances_add_dropped,
    instances_apply_heartbeats,
    instances_lock_or_create,
    instances_lookup,
)
from apps.licenses.services import LicenseSeen, licenses_upsert
from apps.products.selectors import products_change_stamps


@dataclass(slots=True)
class Stored:
    accepted: int = 0  # records stored now
    duplicates: int = 0  # records whose message id was already stored
    dropped: int = 0  # records refused by the collection level or because the instance was erased
    instances: dict[str, InstanceState] = field(default_factory=dict)  # after this request
    erased: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Write:
    """One request's prepared envelopes (all of one product), waiting to be stored."""

    product_id: int
    product_stamp: int  # the product's change stamp the envelopes were prepared with
    envelopes: Sequence[Envelope]
    now: datetime  # when the request arrived


def overlap_keys(write: Write) -> set[tuple[int, str, str]]:
    """What two writes of one transaction must not share: a message id, a heartbeat's instance, an install run.

    Writes that share none of these touch different rows (or only read the same instance), so
    storing them together gives each the result it would get alone, in some serial order.
    """
    keys: set[tuple[int, str, str]] = set()
    for e in write.envelopes:
        keys.add((write.product_id, "message", e.message_id))
        if e.kind == HEARTBEAT:
            keys.add((write.product_id, "instance", e.instance_id))
        elif e.kind == INSTALL:
            keys.add((write.product_id, "install", e.install_id))
    return keys


def writes_store(writes: Sequence[Write]) -> list[Stored]:
    """Store non-overlapping writes in one transaction; one `Stored` per write, in order.

    Raises `ProductChanged`, storing nothing, when a write was prepared against an older copy of
    its product than the database holds.
    """
    by_product: dict[int, list[Write]] = {}
    for write in writes:
        by_product.setdefault(write.product_id, []).append(write)
    outcomes: dict[int, _Outcome] = {}
    with transaction.atomic():
        for product_id, group in sorted(by_product.items()):  # one lock order across products
            outcomes[product_id] = _store_product(
                product_id=product_id, stamps={write.product_stamp for write in group},
                envelopes=[e for write in group for e in write.envelopes], now=max(write.now for write in group))
    return [outcomes[write.product_id].stored(write.envelopes) for write in writes]


@dataclass(slots=True)
class _Outcome:
    """What storing one product's envelopes did, so each write can be told its own part."""

    instances: dict[str, InstanceState]
    erased: set[str]
    kept: set[int]  # id() of the envelopes the collection levels kept
    new_ids: set[str]  # message ids stored now (the rest of the kept ones were already stored)

    def stored(self, envelopes: Sequence[Envelope]) -> Stored:
        out = Stored(instances=self.instances, erased=self.erased)
        for e in envelopes:
            if id(e) not in self.kept:
                out.dropped += 1
            elif e.message_id in self.new_ids:
                out.accepted += 1
            else:
                out.duplicates += 1
        return out


def _store_product(*, product_id: int, stamps: set[int], envelopes: Sequence[Envelope],
                   now: datetime) -> _Outcome:
    first_seen: dict[str, datetime] = {}
    for envelope in envelopes:
        if envelope.kind == HEARTBEAT:
            seen = first_seen.get(envelope.instance_id)
            first_seen[envelope.instance_id] = min(seen, envelope.timestamp) if seen else envelope.timestamp
    states, stamp = instances_lock_or_create(product_id=product_id, first_seen=first_seen, now=now)
    if stamp is None:  # no heartbeat row: read the stamp on its own
        stamp = products_change_stamps(product_ids=[product_id]).get(product_id)
    if stamps != {stamp}:
        raise ProductChanged(f"product {product_id} changed since a write of the group was prepared")
    erased = set(first_seen) - states.keys()
    named = {e.instance_id for e in envelopes if e.kind != HEARTBEAT and e.instance_id} - states.keys() - erased
    found, erased_named = instances_lookup(product_id=product_id, instance_ids=named)
    states.update(found)
    erased |= erased_named
    kept = apply_collection(list(envelopes), instances=states, erased=erased)
    pk_of = {iid: state.pk for iid, state in states.items()}
    new_ids = events_insert(product_id=product_id, received_at=now, rows=[
        EventRow(instance_pk=pk_of.get(e.instance_id), kind=e.kind, name=e.name, message_id=e.message_id,
                 timestamp=e.timestamp, properties=e.properties, received_at=e.received_at)
        for e in kept.envelopes])
    new_heartbeats = [e for e in kept.envelopes if e.kind == HEARTBEAT and e.message_id in new_ids]
    _apply_heartbeats(product_id=product_id, heartbeats=new_heartbeats, states=states, now=now)
    installations_record(product_id=product_id, now=now, steps=[
        InstallStepSeen(install_id=e.install_id, step=e.step, timestamp=e.timestamp, os=e.os, error=e.error,
                        ip_hash=e.ip_hash, instance_pk=pk_of.get(e.instance_id))
        for e in kept.envelopes if e.kind == INSTALL])
    instances_add_dropped(dropped=kept.dropped_by_instance, now=now)
    return _Outcome(instances=states, erased=erased, kept={id(e) for e in kept.envelopes}, new_ids=new_ids)


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
    links = [one for iid, group in by_instance.items() for one in _install_evidence(states[iid], group)]
    updates = [states[iid].plan([
        HeartbeatSeen(timestamp=e.timestamp, version=e.version, edition=e.edition, os=e.os, arch=e.arch,
                      context=e.context, ip_hash=e.ip_hash, country=e.country, license_pk=licence_pks.get(e.license_id),
                      metrics={e.metrics_key: e.metrics} if e.metrics else None)
        for e in group]) for iid, group in by_instance.items()]
    instances_apply_heartbeats(updates=updates, now=now, product_id=product_id, install_links=links)


def _install_evidence(state: InstanceState, heartbeats: list[Envelope]) -> list[InstallEvidence]:
    """What an instance's new heartbeats say about the install runs it came from (installations_link).

    A new instance is evidence by the install ids it carried, else by its address (counted once);
    one already known only by install ids its heartbeats carry (a re-install), judged against
    when it was first seen.
    """
    install_ids = sorted({e.install_id for e in heartbeats if e.install_id})
    if not state.fresh:
        return [InstallEvidence(pk=state.pk, first_seen=state.first_seen, install_id=i) for i in install_ids]
    address = next((e.ip_hash for e in sorted(heartbeats, key=lambda e: e.timestamp, reverse=True) if e.ip_hash), "")
    first_seen = min(e.timestamp for e in heartbeats)
    return [InstallEvidence(pk=state.pk, first_seen=first_seen, install_id=install_id,
                            ip_hash=address if n == 0 else "")
            for n, install_id in enumerate(install_ids or [""])]
