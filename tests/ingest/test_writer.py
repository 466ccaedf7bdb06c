"""apps/ingest/writer.py `batches_store` on its own: one transaction per call, the product's batch as a whole."""

from datetime import timedelta
from typing import Any

import pytest

from apps.events.models import Event
from apps.ingest import pipeline, protocols
from apps.ingest.envelope import Envelope
from apps.ingest.product_cache import ProductChanged, product_for_key
from apps.ingest.writer import Batch, batches_store
from apps.instances.models import CollectionLevel, Instance, InstanceStatus
from apps.products.models import Product

from .conftest import NOW, SENDER


def envelopes(product: Product, *records: dict[str, Any], at: Any = NOW) -> list[Envelope]:
    info = product_for_key(product.ingest_key, fresh=True)
    assert info is not None
    prepared = pipeline.prepare(protocols.parse("native", list(records), rules=info.rules), received_at=at,
                                request_ip=SENDER)
    assert not prepared.errors
    return prepared.envelopes


def batch(product: Product, *records: dict[str, Any], at: Any = NOW) -> Batch:
    info = product_for_key(product.ingest_key, fresh=True)
    assert info is not None
    return Batch(product_id=product.pk, stamps=frozenset({info.stamp}), envelopes=envelopes(product, *records, at=at),
                 now=at)


def hb(instance_id: str, message_id: str, **fields: Any) -> dict[str, Any]:
    return {"type": "heartbeat", "instance_id": instance_id, "message_id": message_id, **fields}


@pytest.mark.django_db
def test_a_batch_creates_describes_and_answers_its_instances(appsmith: Product) -> None:
    [written] = batches_store([batch(appsmith, hb("i-1", "m-1", version="1.0.0"), hb("i-2", "m-2"))])
    assert written.new_ids == {"m-1", "m-2"}
    assert set(written.instances) == {"i-1", "i-2"} and written.erased == set()
    assert written.instances["i-1"].version == "1.0.0"
    assert dict(Instance.objects.values_list("instance_id", "heartbeat_count")) == {"i-1": 1, "i-2": 1}


@pytest.mark.django_db
def test_a_duplicate_heartbeat_does_not_touch_its_instance(appsmith: Product) -> None:
    batches_store([batch(appsmith, hb("i-1", "m-1", version="1.0.0"))])
    before = Instance.objects.get(instance_id="i-1")
    later = NOW + timedelta(hours=1)
    [written] = batches_store([batch(appsmith, hb("i-1", "m-1", version="9.9.9"), at=later)])
    assert written.new_ids == set()
    after = Instance.objects.get(instance_id="i-1")
    assert (after.heartbeat_count, after.last_seen, after.version) == (1, before.last_seen, "1.0.0")
    assert Event.objects.count() == 1


@pytest.mark.django_db
def test_collection_levels_are_read_inside_the_transaction(appsmith: Product) -> None:
    batches_store([batch(appsmith, hb("i-1", "m-1"))])
    Instance.objects.filter(instance_id="i-1").update(collection=CollectionLevel.OFF)
    usage = {"type": "event", "event": "clicked", "instance_id": "i-1", "message_id": "m-2"}
    [written] = batches_store([batch(appsmith, usage, at=NOW + timedelta(minutes=1))])
    assert written.kept == set() and written.new_ids == set()
    assert Instance.objects.get(instance_id="i-1").dropped_count == 1


@pytest.mark.django_db
def test_a_stale_product_stamp_stores_nothing(appsmith: Product) -> None:
    stale = batch(appsmith, hb("i-1", "m-1"))
    appsmith.name = "Appsmith, renamed"
    appsmith.save()  # the database bumps the product's change stamp
    with pytest.raises(ProductChanged):
        batches_store([stale])
    assert not Instance.objects.exists() and not Event.objects.exists()


@pytest.mark.django_db
def test_batches_of_several_products_share_one_transaction(appsmith: Product, hasura: Product) -> None:
    first, second = batches_store([batch(hasura, hb("h-1", "m-1")), batch(appsmith, hb("a-1", "m-1"))])
    assert set(first.instances) == {"h-1"} and set(second.instances) == {"a-1"}
    assert Instance.objects.get(instance_id="a-1").status == InstanceStatus.NEW
