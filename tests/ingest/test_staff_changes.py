"""Staff changes take effect on the next ping although each process caches its products.

Here in one process, with the cache on (the suite otherwise runs without it), directly and
through the group commit; `test_staff_changes_processes.py` does it across two processes.
"""

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.events.models import Event
from apps.ingest import group_commit, pipeline, protocols
from apps.ingest.group_commit import Write, writes_store
from apps.ingest.product_cache import ProductChanged, clear_product_cache, product_for_key
from apps.instances.models import Instance
from apps.instances.services import instances_set_collection
from apps.products.models import Notice, Product, Release
from apps.products.services import product_rotate_ingest_key

from .conftest import NOW, Post, basic


@pytest.fixture(autouse=True)
def cached_products() -> Iterator[None]:
    clear_product_cache()
    with override_settings(TELEMETRY_PRODUCT_CACHE_SECONDS=3600):
        yield
    clear_product_cache()


def ping(post: Post, product: Product, *, key: str | None = None, instance: str = "i-1",
         version: str = "v1.9.15") -> Any:
    return post("/api/v1/ingest", {"type": "heartbeat", "instance_id": instance, "version": version},
                key=key or product.ingest_key)


def answer(post: Post, product: Product, **kwargs: Any) -> dict[str, Any]:
    response = ping(post, product, **kwargs)
    assert response.status_code == 200, response.content
    return response.json()


def check_every_change_is_seen_at_once(post: Post, appsmith: Product) -> None:
    assert answer(post, appsmith)["latest_version"] == "v1.9.56"  # now cached

    Product.objects.filter(pk=appsmith.pk).update(latest_version="v2.0.0", heartbeat_interval=600)
    first = answer(post, appsmith)
    assert (first["latest_version"], first["next_ping_in"]) == ("v2.0.0", 600)

    Product.objects.filter(pk=appsmith.pk).update(latest_version="")
    Release.objects.create(product=appsmith, version="v2.1.0")
    assert answer(post, appsmith, version="v2.0.0")["latest_version"] == "v2.1.0"

    notice = Notice.objects.create(product=appsmith, level="security", title="CVE", max_version="v1.9.20")
    assert [n["id"] for n in answer(post, appsmith)["notices"]] == [notice.pk]
    Notice.objects.filter(pk=notice.pk).update(active=False)
    assert answer(post, appsmith)["notices"] == []

    instances_set_collection(instance_ids=Instance.objects.values_list("pk", flat=True), level="heartbeat",
                             reason="asked", user=None, now=timezone.now())
    assert answer(post, appsmith)["collect"] == "heartbeat"

    # Event mappings: a Segment event becomes a heartbeat the moment staff say so.
    track = {"type": "track", "event": "Still Here", "userId": "u-1", "messageId": "seg-1",
             "properties": {"instanceId": "i-seg"}}
    assert post("/v1/track", track, key=None, HTTP_AUTHORIZATION=basic(appsmith.ingest_key)).status_code == 200
    assert not Instance.objects.filter(instance_id="i-seg").exists()
    Product.objects.filter(pk=appsmith.pk).update(heartbeat_events=["Still Here"])
    post("/v1/track", {**track, "messageId": "seg-2"}, key=None, HTTP_AUTHORIZATION=basic(appsmith.ingest_key))
    assert Instance.objects.filter(instance_id="i-seg").exists()

    old_key = appsmith.ingest_key
    new_key = product_rotate_ingest_key(product=appsmith, now=timezone.now())
    refused = ping(post, appsmith, key=old_key)
    assert (refused.status_code, refused.json()["code"]) == (401, "unknown_key")
    assert ping(post, appsmith, key=new_key).status_code == 200


@pytest.mark.django_db
def test_every_change_is_seen_on_the_next_ping(post: Post, appsmith: Product, clock: Any) -> None:
    check_every_change_is_seen_at_once(post, appsmith)


@pytest.mark.django_db(transaction=True)
def test_every_change_is_seen_through_the_group_commit(post: Post, appsmith: Product, clock: Any) -> None:
    with override_settings(TELEMETRY_INGEST_GROUP_COMMIT=True):
        try:
            check_every_change_is_seen_at_once(post, appsmith)
        finally:
            group_commit._committer.stop()


@pytest.mark.django_db
def test_a_heartbeat_reads_the_stamp_in_a_statement_it_makes_anyway(post: Post, appsmith: Product,
                                                                     clock: Any) -> None:
    ping(post, appsmith)
    with CaptureQueriesContext(connection) as queries:
        ping(post, appsmith, instance="i-2")
    product_reads = [q["sql"] for q in queries if "products_product" in q["sql"]]
    assert len(product_reads) == 2  # the instances upsert (the stamp), and the event insert (its product lock)
    assert "change_stamp" in product_reads[0] and "instances_instance" in product_reads[0]


def prepared(product: Product, instance: str, kind: str = "heartbeat") -> Write:
    info = product_for_key(product.ingest_key)
    assert info is not None
    body = {"type": kind, "instance_id": instance, "message_id": instance, "event": "clicked"}
    parsed = protocols.parse("native", body, rules=info.rules)
    ready = pipeline.prepare(parsed, received_at=NOW, request_ip="")
    return Write(product_id=info.pk, product_stamp=info.stamp, envelopes=ready.envelopes, now=NOW)


@pytest.mark.django_db
@pytest.mark.parametrize("kind", ["heartbeat", "event"])
def test_a_write_prepared_against_an_older_product_stores_nothing(appsmith: Product, hasura: Product,
                                                                  kind: str) -> None:
    stale = prepared(appsmith, "a-1", kind)
    Release.objects.create(product=appsmith, version="9.9")
    clear_product_cache()  # loaded again: the stamp moved
    current, other = prepared(appsmith, "a-2", kind), prepared(hasura, "h-1", kind)

    with pytest.raises(ProductChanged):
        writes_store([stale, current, other])
    assert not Event.objects.exists()
    assert [r.accepted for r in writes_store([current, other])] == [1, 1]


@pytest.mark.django_db(transaction=True)
def test_the_group_commit_stores_the_others_and_hands_back_the_change(appsmith: Product, hasura: Product) -> None:
    stale = prepared(appsmith, "a-1")
    Product.objects.filter(pk=appsmith.pk).update(latest_version="v3")
    clear_product_cache()
    writes = [stale, prepared(appsmith, "a-2"), prepared(hasura, "h-1")]
    committer = group_commit.GroupCommitter()
    gate = threading.Event()
    real = committer._store

    def held(batch: Any) -> Any:  # the first group waits until all three are queued, so they form one group
        gate.wait(10)
        return real(batch)

    committer._store = held
    try:
        with ThreadPoolExecutor(max_workers=3) as pool:
            futures = [pool.submit(committer.store, write) for write in writes]
            time.sleep(0.3)
            gate.set()
            outcomes = [future.exception(30) or future.result().accepted for future in futures]
    finally:
        gate.set()
        committer.stop()
    assert isinstance(outcomes[0], ProductChanged) and outcomes[1:] == [1, 1]
    assert sorted(Event.objects.values_list("message_id", flat=True)) == ["a-2", "h-1"]


@pytest.mark.django_db
def test_a_product_changing_under_every_attempt_is_a_503(post: Post, appsmith: Product, clock: Any,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    real = group_commit.writes_store

    def staff_keep_editing(writes: Any) -> Any:
        Product.objects.filter(pk=appsmith.pk).update(heartbeat_interval=Product.objects.get(
            pk=appsmith.pk).heartbeat_interval + 1)
        return real(writes)

    monkeypatch.setattr(group_commit, "writes_store", staff_keep_editing)
    response = ping(post, appsmith)
    assert (response.status_code, response.json()["code"], response["Retry-After"]) == (503, "unavailable", "1")
    assert not Event.objects.exists()
    clock.shift(timedelta(seconds=1))
    monkeypatch.setattr(group_commit, "writes_store", real)
    assert ping(post, appsmith).status_code == 200
