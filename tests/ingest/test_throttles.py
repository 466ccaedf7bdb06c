"""Rate limits on ingest (apps/ingest/throttles.py): per key, per sender address, per-product overrides,
counts shared through Redis, and ingest going on when the throttles' cache is down.

The throttles are exercised on the native ingest view with exactly these throttles (whatever the
settings say), so "nothing stored for a refused request" is checked on real rows.
"""

import logging
import shutil
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.core.cache import caches
from django.test import RequestFactory, override_settings
from django.urls import path
from rest_framework.request import ForcedAuthentication, Request

from apps.ingest import throttles
from apps.ingest.product_cache import ProductInfo, product_for_key
from apps.ingest.throttles import AddressRateThrottle, KeyRateThrottle, judge
from apps.ingest.views import IngestView
from apps.instances.models import Instance
from apps.products.models import Product
from tests.ingest.conftest import SENDER, Post

PATH = "/throttled/ingest"
OTHER_SENDER = "203.0.113.9"
# Closed ports of this suite's range: nothing listens there, so a connection is refused at once.
CLOSED_REDIS_PORT = 57049
OWN_REDIS_PORT = 57041
HANGING_REDIS_PORT = 57048

def throttled_native_ingest() -> Any:
    """The native ingest view with exactly these throttles, whatever TELEMETRY_INGEST_THROTTLE_CLASSES says."""
    return IngestView.as_view(protocol="native", style="native",
                              throttle_classes=[KeyRateThrottle, AddressRateThrottle])


urlpatterns = [path(PATH.lstrip("/"), throttled_native_ingest())]

pytestmark = pytest.mark.urls(__name__)


def heartbeat(instance_id: str) -> dict[str, Any]:
    return {"type": "heartbeat", "instance_id": instance_id}


def locmem_throttle_cache() -> dict[str, Any]:
    return {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": f"throttle-{uuid.uuid4()}"}


def redis_throttle_cache(url: str) -> dict[str, Any]:
    # A prefix per test: counts left in Redis by an earlier test or run are never seen.
    return {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": url,
            "KEY_PREFIX": f"test-{uuid.uuid4()}",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}}


def throttle_cache(config: dict[str, Any] | None) -> override_settings:
    """The throttles count in the cache `config` describes; None: in this process, without a cache."""
    aliases = {alias: value for alias, value in settings.CACHES.items() if alias != throttles.CACHE_ALIAS}
    return override_settings(CACHES={**aliases, throttles.CACHE_ALIAS: config} if config else aliases)


@pytest.fixture(autouse=True)
def _fresh_throttles() -> Iterator[None]:
    throttles.reset_cache_state()
    throttles.process_counters.clear()
    with throttle_cache(None):
        yield
    throttles.reset_cache_state()


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """REDIS_URL when the suite runs against Redis, else a redis-server of our own on a loopback port."""
    if settings.REDIS_URL:
        yield settings.REDIS_URL
        return
    server = shutil.which("redis-server")
    if server is None:
        pytest.fail("Neither REDIS_URL nor a redis-server binary: the shared-count test needs a Redis.")
    with tempfile.TemporaryDirectory(prefix="throttle-redis-") as directory:
        process = subprocess.Popen(
            [server, "--port", str(OWN_REDIS_PORT), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", directory], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            _wait_for_port(OWN_REDIS_PORT)
            yield f"redis://127.0.0.1:{OWN_REDIS_PORT}/0"
        finally:
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture(params=["process", "django-cache", "redis"])
def store(request: pytest.FixtureRequest) -> Iterator[str]:
    """Each place the counters can live: this process, a Django cache (memory), Redis."""
    config = {"process": None, "django-cache": locmem_throttle_cache(),
              "redis": None}[request.param]
    if request.param == "redis":
        config = redis_throttle_cache(request.getfixturevalue("redis_url"))
    with throttle_cache(config):
        yield request.param


def _wait_for_port(port: int) -> None:
    for _ in range(200):
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"redis-server did not listen on {port}")


def flood(post: Post, product: Product, count: int, *, sender: str = SENDER, prefix: str = "i") -> list[Any]:
    return [post(PATH, heartbeat(f"{prefix}-{n}"), key=product.ingest_key, remote_addr=sender)
            for n in range(count)]


def stored(product: Product) -> set[str]:
    return set(Instance.objects.filter(product=product).values_list("instance_id", flat=True))


def assert_rate_limited(response: Any) -> int:
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert response.json()["message"]
    retry_after = int(response["Retry-After"])
    assert retry_after >= 1
    return retry_after


@override_settings(TELEMETRY_INGEST_RATE_PER_KEY="5/min", TELEMETRY_INGEST_RATE_PER_ADDRESS="1000/min")
def test_a_flooded_key_is_refused_and_other_keys_are_not(post: Post, appsmith: Product, hasura: Product,
                                                         clock: Any, store: str) -> None:
    # Many senders, one key: the key's limit is what stops them.
    responses = [post(PATH, heartbeat(f"i-{n}"), key=appsmith.ingest_key, remote_addr=f"198.51.100.{n}")
                 for n in range(8)]

    assert [r.status_code for r in responses] == [200] * 5 + [429] * 3
    for refused in responses[5:]:
        assert_rate_limited(refused)
    assert stored(appsmith) == {f"i-{n}" for n in range(5)}
    assert [r.status_code for r in flood(post, hasura, 5)] == [200] * 5
    assert len(stored(hasura)) == 5


@override_settings(TELEMETRY_INGEST_RATE_PER_KEY="1000/min", TELEMETRY_INGEST_RATE_PER_ADDRESS="3/min")
def test_a_flooding_address_is_refused_and_other_addresses_are_not(post: Post, appsmith: Product,
                                                                   clock: Any, store: str) -> None:
    responses = flood(post, appsmith, 6, prefix="flood")

    assert [r.status_code for r in responses] == [200] * 3 + [429] * 3
    assert_rate_limited(responses[-1])
    assert [r.status_code for r in flood(post, appsmith, 3, sender=OTHER_SENDER, prefix="calm")] == [200] * 3
    assert stored(appsmith) == {"flood-0", "flood-1", "flood-2", "calm-0", "calm-1", "calm-2"}


@override_settings(TELEMETRY_INGEST_RATE_PER_KEY="1000/min", TELEMETRY_INGEST_RATE_PER_ADDRESS="100/min")
def test_a_product_overrides_the_defaults(post: Post, appsmith: Product, hasura: Product, clock: Any) -> None:
    Product.objects.filter(pk=appsmith.pk).update(ingest_rate_per_address=2)
    Product.objects.filter(pk=hasura.pk).update(ingest_rate_per_key=3)

    assert [r.status_code for r in flood(post, appsmith, 4)] == [200, 200, 429, 429]
    # Hasura's key limit (3/min) is lower than its per-address default: three senders share it.
    codes = [post(PATH, heartbeat(f"h-{n}"), key=hasura.ingest_key, remote_addr=f"198.51.100.{n}").status_code
             for n in range(5)]
    assert codes == [200, 200, 200, 429, 429]
    # Address counts are per key: the sender Appsmith refuses is within Hasura's (default) address limit.
    Product.objects.filter(pk=hasura.pk).update(ingest_rate_per_key=None)
    assert post(PATH, heartbeat("h-late"), key=hasura.ingest_key).status_code == 200


@override_settings(TELEMETRY_INGEST_RATE_PER_KEY="1000/min", TELEMETRY_INGEST_RATE_PER_ADDRESS="3/min")
def test_retry_after_is_when_a_request_fits_again(post: Post, appsmith: Product, clock: Any, store: str) -> None:
    flood(post, appsmith, 3, prefix="first")
    retry_after = assert_rate_limited(post(PATH, heartbeat("early"), key=appsmith.ingest_key))

    clock.shift(retry_after - 1)
    assert post(PATH, heartbeat("still-early"), key=appsmith.ingest_key).status_code == 429
    clock.shift(1)
    assert post(PATH, heartbeat("on-time"), key=appsmith.ingest_key).status_code == 200
    assert "on-time" in stored(appsmith)
    assert not stored(appsmith) & {"early", "still-early"}


@override_settings(TELEMETRY_INGEST_RATE_PER_KEY="1000/min", TELEMETRY_INGEST_RATE_PER_ADDRESS="3/min")
def test_refused_requests_do_not_count(post: Post, appsmith: Product, clock: Any, store: str) -> None:
    clock.move_to("2024-01-10T12:00:00Z")  # the start of a window
    flood(post, appsmith, 3, prefix="ok")
    assert {r.status_code for r in flood(post, appsmith, 20, prefix="refused")} == {429}

    # Half-way through the next window the 3 accepted weigh 1.5: one more fits. Had the 20 refused
    # counted, the estimate would be 11.5 and the sender would stay shut out.
    clock.shift(90)
    assert post(PATH, heartbeat("next"), key=appsmith.ingest_key).status_code == 200


@override_settings(TELEMETRY_INGEST_RATE_PER_KEY="1000/min", TELEMETRY_INGEST_RATE_PER_ADDRESS="2/min")
def test_the_sender_address_is_counted_as_a_keyed_hash(post: Post, appsmith: Product, clock: Any) -> None:
    with throttle_cache(locmem_throttle_cache()):
        flood(post, appsmith, 3)
        keys = list(caches[throttles.CACHE_ALIAS]._cache)  # type: ignore[attr-defined]
    flood(post, appsmith, 3)
    keys += list(throttles.process_counters._counters)

    assert [key for key in keys if ":address:" in key]
    assert not [key for key in keys if SENDER in key]


@override_settings(TELEMETRY_INGEST_RATE_PER_KEY="1000/min", TELEMETRY_INGEST_RATE_PER_ADDRESS="2/min")
def test_a_made_up_forwarded_for_does_not_escape_the_address_limit(post: Post, appsmith: Product,
                                                                   clock: Any) -> None:
    codes = [post(PATH, heartbeat(f"i-{n}"), key=appsmith.ingest_key, HTTP_X_FORWARDED_FOR=f"192.0.2.{n}").status_code
             for n in range(4)]

    assert codes == [200, 200, 429, 429]


@override_settings(TELEMETRY_INGEST_RATE_PER_KEY="1000/min", TELEMETRY_INGEST_RATE_PER_ADDRESS="2/min",
                   AXES_IPWARE_PROXY_COUNT=1)
def test_behind_a_proxy_the_address_is_the_one_it_forwards(post: Post, appsmith: Product, clock: Any) -> None:
    def via_proxy(instance_id: str, forwarded_for: str) -> int:
        return post(PATH, heartbeat(instance_id), key=appsmith.ingest_key, remote_addr="10.0.0.2",
                    HTTP_X_FORWARDED_FOR=forwarded_for).status_code

    # Entries left of the proxy's own are the client's to write: they change nothing.
    assert [via_proxy(f"a-{n}", f"192.0.2.{n}, {SENDER}") for n in range(3)] == [200, 200, 429]
    assert via_proxy("b-0", OTHER_SENDER) == 200


def judge_in_thread(product: ProductInfo, attempts: int, allowed: list[bool]) -> None:
    """Django's caches are per thread: this thread has its own cache object and Redis connections, as
    another process would."""
    for _ in range(attempts):
        authenticator = ForcedAuthentication(AnonymousUser(), product)  # type: ignore[arg-type]
        request = Request(RequestFactory().post("/", REMOTE_ADDR=SENDER),
                          authenticators=(authenticator,))  # type: ignore[arg-type]
        verdicts = judge(request, [KeyRateThrottle(), AddressRateThrottle()])
        assert set(verdicts) == {"key", "address"}
        allowed.append(all(verdict.allowed for verdict in verdicts.values()))


@override_settings(TELEMETRY_INGEST_RATE_PER_KEY="10/min", TELEMETRY_INGEST_RATE_PER_ADDRESS="1000/min")
def test_processes_share_the_count_through_redis(redis_url: str, appsmith: Product) -> None:
    product = product_for_key(appsmith.ingest_key, fresh=True)
    assert product is not None
    allowed: list[bool] = []
    with throttle_cache(redis_throttle_cache(redis_url)):
        workers = [threading.Thread(target=judge_in_thread, args=(product, 15, allowed)) for _ in range(2)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()

    assert len(allowed) == 30
    assert allowed.count(True) == 10


@override_settings(TELEMETRY_INGEST_RATE_PER_KEY="3/min", TELEMETRY_INGEST_RATE_PER_ADDRESS="3/min",
                   TELEMETRY_INGEST_THROTTLE_BACKOFF_SECONDS=3600)
def test_ingest_goes_on_when_the_cache_is_down(post: Post, appsmith: Product, caplog: pytest.LogCaptureFixture,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[int] = []
    real_count = throttles._count

    def counting(*args: Any) -> Any:
        attempts.append(1)
        return real_count(*args)

    monkeypatch.setattr(throttles, "_count", counting)
    with throttle_cache(redis_throttle_cache(f"redis://127.0.0.1:{CLOSED_REDIS_PORT}/0")), \
            caplog.at_level(logging.WARNING, logger="apps.ingest.throttles"):
        started = time.perf_counter()
        responses = flood(post, appsmith, 20)
        elapsed = time.perf_counter() - started

    assert [r.status_code for r in responses] == [200] * 20
    assert len(stored(appsmith)) == 20
    # One try, then the throttles leave the dead cache alone: no request after the first waits on it.
    assert len(attempts) == 1
    warnings = [r for r in caplog.records if r.name == "apps.ingest.throttles"]
    assert len(warnings) == 1
    assert "unavailable" in warnings[0].getMessage()
    print(f"20 requests with the throttles' cache down: {elapsed * 1000:.0f} ms")


@override_settings(TELEMETRY_INGEST_RATE_PER_KEY="3/min", TELEMETRY_INGEST_RATE_PER_ADDRESS="3/min",
                   TELEMETRY_INGEST_THROTTLE_BACKOFF_SECONDS=3600)
def test_ingest_goes_on_when_the_cache_hangs(post: Post, appsmith: Product, caplog: pytest.LogCaptureFixture) -> None:
    # A server that takes the connection and never answers: the throttles' socket timeout ends the wait.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", HANGING_REDIS_PORT))
        silent.listen(16)
        with throttle_cache(redis_throttle_cache(f"redis://127.0.0.1:{HANGING_REDIS_PORT}/0")), \
                caplog.at_level(logging.WARNING, logger="apps.ingest.throttles"):
            responses = flood(post, appsmith, 10)

    assert [r.status_code for r in responses] == [200] * 10
    assert len(stored(appsmith)) == 10
    warnings = [r.getMessage() for r in caplog.records if r.name == "apps.ingest.throttles"]
    assert len(warnings) == 1
    assert "Timeout" in warnings[0]


@override_settings(TELEMETRY_INGEST_RATE_PER_KEY="3/min", TELEMETRY_INGEST_RATE_PER_ADDRESS="3/min",
                   TELEMETRY_INGEST_THROTTLE_BACKOFF_SECONDS=5)
def test_the_limits_hold_again_once_the_cache_is_back(post: Post, appsmith: Product, clock: Any,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: Any) -> Any:
        raise ConnectionError("refused")

    real_count = throttles._count
    monkeypatch.setattr(throttles, "_count", broken)
    assert {r.status_code for r in flood(post, appsmith, 5, prefix="down")} == {200}

    monkeypatch.setattr(throttles, "_count", real_count)
    throttles.reset_cache_state()  # the back-off is over
    assert [r.status_code for r in flood(post, appsmith, 4, sender=OTHER_SENDER, prefix="up")] == [200] * 3 + [429]


def test_a_rate_that_is_not_a_rate_is_a_configuration_error() -> None:
    from django.core.exceptions import ImproperlyConfigured

    assert throttles.parse_rate("600/min") == (600, 60)
    assert throttles.parse_rate("5/s") == (5, 1)
    with pytest.raises(ImproperlyConfigured):
        throttles.parse_rate("fast")
