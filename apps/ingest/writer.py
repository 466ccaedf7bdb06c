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
the product as it is now (apps/ingest/product_cache.py).

`batches_store` runs one transaction over one or more products' batches; a batch holds the
envelopes of one request or, from the group commit (apps/ingest/group_commit.py, which decides what
is stored together and tells each request its own part), of several non-overlapping requests.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction

from apps.events.services import EventRow, events_insert
from apps.ingest.collection import apply_collection
from apps.ingest.envelope import HEARTBEAT, INSTALL, Envelope
from apps.ingest.product_cache import ProductChanged
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


@dataclass(frozen=True, slots=True)
class Batch:
    """One product's envelopes for one transaction, and the change stamps they were prepared with."""

    product_id: int
    stamps: frozenset[int]
    envelopes: Sequence[Envelope]
    now: datetime  # when the (latest) request arrived


@dataclass(slots=True)
class Written:
    """What storing one product's batch did."""

    instances: dict[str, InstanceState]  # after this transaction
    erased: set[str]
    kept: set[int]  # id() of the envelopes the collection levels kept
    new_ids: set[str]  # message ids stored now (the rest of the kept ones were already stored)


def batches_store(batches: Sequence[Batch]) -> list[Written]:
    """Store the batches (at most one per product) in one transaction; one `Written` per batch, in order.

    Raises `ProductChanged`, storing nothing, when a batch was prepared against an older copy of
    its product than the database holds.
    """
    written: dict[int, Written] = {}
    with transaction.atomic():
        for batch in sorted(batches, key=lambda batch: batch.product_id):  # one lock order across products
            written[batch.product_id] = _store_product(batch)
    return [written[batch.product_id] for batch in batches]


def _store_product(batch: Batch) -> Written:
    product_id, envelopes, now = batch.product_id, batch.envelopes, batch.now
    first_seen: dict[str, datetime] = {}
    for envelope in envelopes:
        if envelope.kind == HEARTBEAT:
            seen = first_seen.get(envelope.instance_id)
            first_seen[envelope.instance_id] = min(seen, _at(envelope)) if seen else _at(envelope)
    states, stamp = instances_lock_or_create(product_id=product_id, first_seen=first_seen, now=now)
    if stamp is None:  # no heartbeat row: read the stamp on its own
        stamp = products_change_stamps(product_ids=[product_id]).get(product_id)
    if batch.stamps != {stamp}:
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
                 timestamp=_at(e), properties=e.properties, received_at=e.received_at)
        for e in kept.envelopes])
    new_heartbeats = [e for e in kept.envelopes if e.kind == HEARTBEAT and e.message_id in new_ids]
    _apply_heartbeats(product_id=product_id, heartbeats=new_heartbeats, states=states, now=now)
    installations_record(product_id=product_id, now=now, steps=[
        InstallStepSeen(install_id=e.install_id, step=e.step, timestamp=_at(e), os=e.os, error=e.error,
                        ip_hash=e.ip_hash, instance_pk=pk_of.get(e.instance_id))
        for e in kept.envelopes if e.kind == INSTALL])
    instances_add_dropped(dropped=kept.dropped_by_instance, now=now)
    return Written(instances=states, erased=erased, kept={id(e) for e in kept.envelopes}, new_ids=new_ids)


def _apply_heartbeats(*, product_id: int, heartbeats: list[Envelope], states: dict[str, InstanceState],
                      now: datetime) -> None:
    if not heartbeats:
        return
    licences: dict[str, LicenseSeen] = {}
    for e in sorted(heartbeats, key=_at):
        if e.license_id:
            old = licences.get(e.license_id)
            licences[e.license_id] = LicenseSeen(type=e.license_type or (old.type if old else ""),
                                                 first_seen=old.first_seen if old else _at(e),
                                                 last_seen=_at(e))
    licence_pks = licenses_upsert(product_id=product_id, seen=licences, now=now)
    by_instance: dict[str, list[Envelope]] = {}
    for e in heartbeats:
        by_instance.setdefault(e.instance_id, []).append(e)
    links = [one for iid, group in by_instance.items() for one in _install_evidence(states[iid], group)]
    updates = [states[iid].plan([
        HeartbeatSeen(timestamp=_at(e), version=e.version, edition=e.edition, os=e.os, arch=e.arch,
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
    address = next((e.ip_hash for e in sorted(heartbeats, key=_at, reverse=True) if e.ip_hash), "")
    first_seen = min(_at(e) for e in heartbeats)
    return [InstallEvidence(pk=state.pk, first_seen=first_seen, install_id=install_id,
                            ip_hash=address if n == 0 else "")
            for n, install_id in enumerate(install_ids or [""])]


def _at(envelope: Envelope) -> datetime:
    """A prepared envelope's time (the pipeline gives every envelope one before the writer sees it)."""
    if envelope.timestamp is None:
        raise ValueError("an envelope reached the writer without a timestamp")
    return envelope.timestamp
