"""Cost of the ingest rate limits per request, measured in one process: wall and CPU time, Redis round trips.

    .venv/bin/python bench/throttles.py [--redis redis://127.0.0.1:6379/0] [--requests 20000]

Judges the same request over and over (limits set high enough never to refuse) with
1. the two ingest throttles (apps/ingest/throttles.py) counting in process memory (no throttle cache);
2. the same on a Django memory cache (LocMemCache), for comparison;
3. the same on Redis, when --redis (or REDIS_URL) names one;
4. for comparison, DRF's SimpleRateThrottle for the same two limits on the same Redis (a list of
   timestamps per key: a get and a set each).
Round trips are counted at redis-py's connection (one per command sent or pipeline executed).
Keys are written under a random prefix and expire within two minutes.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis", default=os.environ.get("REDIS_URL", ""))
    parser.add_argument("--requests", type=int, default=20000)
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    os.environ["DJANGO_SETTINGS_MODULE"] = "telemetry_site.settings.test"
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from django.conf import settings

    caches: dict[str, Any] = {"default": settings.CACHES["default"],
                              "memory": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    if args.redis:
        caches["redis"] = {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": args.redis,
                           "KEY_PREFIX": f"bench-{uuid.uuid4()}"}
    settings.CACHES = caches
    settings.TELEMETRY_INGEST_RATE_PER_KEY = settings.TELEMETRY_INGEST_RATE_PER_ADDRESS = "1000000000/min"

    rows = [("no throttle", *_run(None, args.requests))]
    rows.append(("ingest throttles, process counters", *_run("unconfigured", args.requests)))
    rows.append(("ingest throttles, Django memory cache", *_run("memory", args.requests)))
    if args.redis:
        rows.append(("ingest throttles, Redis", *_run("redis", args.requests)))
        rows.append(("DRF SimpleRateThrottle x2, Redis", *_run("redis", args.requests, drf=True)))
    print(f"{'':38} {'wall µs/request':>16} {'CPU µs/request':>15} {'round trips/request':>20}")
    wall_base, cpu_base = rows[0][1], rows[0][2]
    for name, wall, cpu, trips in rows:
        print(f"{name:38} {wall:9.1f} (+{wall - wall_base:5.1f}) {cpu:8.1f} (+{cpu - cpu_base:5.1f}) {trips:20.2f}")


def _run(alias: str | None, count: int, *, drf: bool = False) -> tuple[float, float, float]:
    from django.contrib.auth.models import AnonymousUser
    from django.core.cache import caches
    from django.test import RequestFactory
    from redis.connection import Connection
    from rest_framework.request import ForcedAuthentication, Request
    from rest_framework.throttling import SimpleRateThrottle

    from apps.ingest import throttles

    class Product:
        pk = 1
        rate_per_key = None
        rate_per_address = None

    class DrfKey(SimpleRateThrottle):
        rate = "1000000000/min"

        def get_cache_key(self, request: Any, view: Any) -> str:
            return f"key-{request.auth.pk}"

    class DrfAddress(DrfKey):
        def get_cache_key(self, request: Any, view: Any) -> str:
            return f"address-{request.auth.pk}-{throttles.keyed_hash(throttles.sender_address(request))[:32]}"

    if alias is not None:
        throttles.CACHE_ALIAS = alias
    if drf and alias is not None:
        DrfKey.cache = caches[alias]
    factory = RequestFactory()
    sent = [0]
    real_send = Connection.send_packed_command

    def counting_send(self: Connection, *args: Any, **kwargs: Any) -> Any:
        sent[0] += 1
        return real_send(self, *args, **kwargs)

    Connection.send_packed_command = counting_send  # type: ignore[method-assign,assignment]
    try:
        started, cpu_started = time.perf_counter(), time.process_time()
        for _ in range(count):
            # DRF's stubs type a token as a string; ingest's is the product.
            authenticator = ForcedAuthentication(AnonymousUser(), Product())  # type: ignore[arg-type]
            request = Request(factory.post("/api/v1/ingest", REMOTE_ADDR="198.51.100.7"),
                              authenticators=(authenticator,))  # type: ignore[arg-type]
            if alias is None:
                continue
            if drf:
                assert all(throttle.allow_request(request, None)  # type: ignore[arg-type]
                           for throttle in (DrfKey(), DrfAddress()))
            else:
                verdicts = throttles.judge(request, [throttles.KeyRateThrottle(), throttles.AddressRateThrottle()])
                assert len(verdicts) == 2 and all(verdict.allowed for verdict in verdicts.values())
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    finally:
        Connection.send_packed_command = real_send  # type: ignore[method-assign]
    return elapsed / count * 1e6, cpu / count * 1e6, sent[0] / count


if __name__ == "__main__":
    main()
