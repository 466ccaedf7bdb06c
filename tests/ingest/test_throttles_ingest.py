"""Rate limits through the real ingest endpoints (their DRF views take TELEMETRY_INGEST_THROTTLE_CLASSES):
429 with Retry-After and the JSON error, nothing stored for a refused request, the others unaffected."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings

from apps.ingest import throttles
from apps.instances.models import Instance
from apps.products.models import Product
from tests.ingest.conftest import SENDER, Post, basic

OTHER_SENDER = "203.0.113.9"


@pytest.fixture(autouse=True)
def _counted_in_this_process() -> Iterator[None]:
    throttles.reset_cache_state()
    throttles.process_counters.clear()
    aliases = {alias: value for alias, value in settings.CACHES.items() if alias != throttles.CACHE_ALIAS}
    with override_settings(CACHES=aliases):
        yield


def heartbeat(instance_id: str) -> dict[str, Any]:
    return {"type": "heartbeat", "instance_id": instance_id}


def stored(product: Product) -> set[str]:
    return set(Instance.objects.filter(product=product).values_list("instance_id", flat=True))


def test_the_ingest_views_are_throttled_per_key_and_address() -> None:
    assert settings.TELEMETRY_INGEST_THROTTLE_CLASSES == [
        "apps.ingest.throttles.KeyRateThrottle", "apps.ingest.throttles.AddressRateThrottle"]


@override_settings(TELEMETRY_INGEST_RATE_PER_KEY="3/min", TELEMETRY_INGEST_RATE_PER_ADDRESS="1000/min")
def test_native_ingest_refuses_a_flooded_key(post: Post, appsmith: Product, hasura: Product, clock: Any) -> None:
    codes = [post("/api/v1/ingest", heartbeat(f"i-{n}"), key=appsmith.ingest_key,
                  remote_addr=f"198.51.100.{n}").status_code for n in range(5)]
    refused = post("/api/v1/ingest", heartbeat("late"), key=appsmith.ingest_key)

    assert codes == [200, 200, 200, 429, 429]
    assert refused.status_code == 429
    assert refused.json()["code"] == "rate_limited"
    assert int(refused["Retry-After"]) >= 1
    assert stored(appsmith) == {"i-0", "i-1", "i-2"}
    assert post("/api/v1/ingest", heartbeat("other"), key=hasura.ingest_key).status_code == 200
    assert stored(hasura) == {"other"}


@override_settings(TELEMETRY_INGEST_RATE_PER_KEY="1000/min", TELEMETRY_INGEST_RATE_PER_ADDRESS="2/min")
def test_segment_batch_refuses_a_flooding_address(post: Post, appsmith: Product, clock: Any) -> None:
    def batch(user: str, sender: str) -> Any:
        body = {"batch": [{"type": "track", "event": "Instance Active", "userId": user}]}
        return post("/v1/batch", body, key=None, remote_addr=sender, HTTP_AUTHORIZATION=basic(appsmith.ingest_key))

    codes = [batch(f"flood-{n}", SENDER).status_code for n in range(4)]
    refused = batch("refused", SENDER)

    assert codes == [200, 200, 429, 429]
    assert refused.json()["code"] == "rate_limited"
    assert "Retry-After" in refused
    assert batch("calm", OTHER_SENDER).status_code == 200
    assert stored(appsmith) == {"flood-0", "flood-1", "calm"}


@override_settings(TELEMETRY_INGEST_RATE_PER_KEY="1000/min", TELEMETRY_INGEST_RATE_PER_ADDRESS="1000/min")
def test_a_product_override_applies_on_the_ingest_views(post: Post, appsmith: Product, clock: Any) -> None:
    Product.objects.filter(pk=appsmith.pk).update(ingest_rate_per_address=1)

    first = post("/api/v1/ingest", heartbeat("one"), key=appsmith.ingest_key)
    second = post("/api/v1/ingest", heartbeat("two"), key=appsmith.ingest_key)

    assert (first.status_code, second.status_code) == (200, 429)
    assert stored(appsmith) == {"one"}
