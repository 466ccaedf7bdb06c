"""What ingest says back. For heartbeats (and every product endpoint) that includes the two-way answer:
`collect` (the instance's collection level), `latest_version`, `outdated`, the `notices` that apply
to the instance's version, and `next_ping_in` seconds. A batch of several instances' heartbeats is
answered at two levels: the batch as a whole at the top, each instance under `instances`
(docs/two-way.md).
"""

from datetime import datetime
from typing import Any

from apps.core.versions import is_outdated
from apps.ingest.envelope import HEARTBEAT, Envelope, RecordError
from apps.ingest.group_commit import Stored
from apps.ingest.product_cache import ProductInfo
from apps.instances.models import CollectionLevel


def two_way(product: ProductInfo, *, collect: str, version: str, now: datetime) -> dict[str, Any]:
    return {
        "collect": collect,
        "latest_version": product.latest_version,
        "outdated": is_outdated(version, product.latest_version),
        "notices": [notice.as_answer() for notice in product.notices if notice.applies_to(version, now)],
        "next_ping_in": product.heartbeat_interval,
    }


def for_instance(product: ProductInfo, stored: Stored, envelope: Envelope, now: datetime) -> dict[str, Any]:
    """The answer for the instance a record names: its stored level and version, or what the record says."""
    state = stored.instances.get(envelope.instance_id) if envelope.instance_id else None
    if envelope.instance_id in stored.erased:
        return two_way(product, collect=CollectionLevel.OFF, version=envelope.version, now=now)
    if state is None:
        return two_way(product, collect=CollectionLevel.FULL, version=envelope.version, now=now)
    return two_way(product, collect=state.collection, version=state.version or envelope.version, now=now)


def counts(stored: Stored, *, duplicates_in_request: int, errors: list[RecordError]) -> dict[str, Any]:
    return {"accepted": stored.accepted, "duplicates": stored.duplicates + duplicates_in_request,
            "dropped": stored.dropped, "errors": [error.as_dict() for error in errors]}


# How much each level lets an instance send: a batch's top level says the strictest of its instances'.
_ALLOWS = {CollectionLevel.OFF: 0, CollectionLevel.HEARTBEAT: 1, CollectionLevel.FULL: 2}


def for_batch(product: ProductInfo, answers: list[dict[str, Any]]) -> dict[str, Any]:
    """The top level of a batch of several instances' heartbeats: true for the batch as a whole.

    `outdated` if any instance is, the `notices` that apply to any of them (each once, in the
    product's order), and the strictest `collect` among them, so a sender that reads only the
    top level never collects more than an instance allows. Each instance's own answer is under
    `instances`.
    """
    notices: dict[Any, dict[str, Any]] = {}
    for one in answers:
        for notice in one["notices"]:
            notices.setdefault(notice["id"], notice)
    order = {notice.pk: n for n, notice in enumerate(product.notices)}
    return {
        "collect": min((one["collect"] for one in answers), key=lambda level: _ALLOWS.get(level, 0)),
        "latest_version": product.latest_version,
        "outdated": any(one["outdated"] for one in answers),
        "notices": sorted(notices.values(), key=lambda notice: order.get(notice["id"], len(order))),
        "next_ping_in": product.heartbeat_interval,
    }


def native(product: ProductInfo, stored: Stored, envelopes: list[Envelope], now: datetime,
           base: dict[str, Any], *, always: bool) -> dict[str, Any]:
    """Counts, plus the two-way answer.

    A request about one instance gets that instance's answer. A batch of several instances'
    heartbeats gets, at the top level, the answer for the batch as a whole (`for_batch`) and
    under `instances` one answer per instance id. With `always` (product endpoints), a request
    without heartbeats is answered for the instance its last record names, or for the version
    it reports.
    """
    heartbeats = [e for e in envelopes if e.kind == HEARTBEAT]
    subjects = heartbeats or (envelopes if always else [])
    if not subjects:
        return base
    per_instance = {e.instance_id: e for e in heartbeats}
    if len(per_instance) <= 1:
        return {**base, **for_instance(product, stored, subjects[-1], now)}
    instances = {iid: for_instance(product, stored, e, now) for iid, e in per_instance.items()}
    return {**base, **for_batch(product, list(instances.values())), "instances": instances}
