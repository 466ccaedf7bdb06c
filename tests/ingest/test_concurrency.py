"""Identical requests racing each other store every message once and count every heartbeat once;
Redis being unreachable changes nothing for ingest."""

from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.test import override_settings

from apps.events.models import Event
from apps.instances.models import Instance
from apps.products.models import Product

pytestmark = pytest.mark.django_db(transaction=True)


def test_racing_retries_store_once(live_server) -> None:
    product = Product.objects.create(slug="racer", name="Racer")
    batch = {"batch": [{"type": "heartbeat", "instance_id": f"i-{n % 5}", "message_id": f"m-{n}",
                        "timestamp": f"2024-01-10T12:00:{n:02d}Z", "version": "1.0"} for n in range(20)]}

    def send(_: int) -> int:
        with requests.Session() as session:
            response = session.post(f"{live_server.url}/api/v1/ingest", json=batch, timeout=30,
                                    headers={"X-Telemetry-Key": product.ingest_key})
            return response.status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(send, range(12)))
    # Row locks serialise requests for the same instances (in one order: no deadlock), and the
    # unique message ids make every late copy a duplicate.
    assert statuses == [200] * 12
    assert Event.objects.filter(product=product).count() == 20
    assert sorted(Instance.objects.filter(product=product).values_list("heartbeat_count", flat=True)) == [4] * 5


@override_settings(CACHES={"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                       "LOCATION": "redis://127.0.0.1:1/0"}},
                   CELERY_BROKER_URL="redis://127.0.0.1:1/0")
def test_ingest_does_not_need_redis(client) -> None:
    product = Product.objects.create(slug="noredis", name="No Redis")
    response = client.post("/api/v1/ingest", {"instance_id": "i-1"}, content_type="application/json",
                           HTTP_X_TELEMETRY_KEY=product.ingest_key)
    assert response.status_code == 200
    assert Instance.objects.filter(product=product).count() == 1
