"""Rate limits on ingest: DRF throttles per ingest key and per sender address.

Each throttle is a DRF throttle (`allow_request`, `wait`): a refused request is answered 429 with
`Retry-After` by DRF's `Throttled`, before anything is read or stored. The limits:

- per ingest key (`KeyRateThrottle`): the product's whole fleet together, `Product.ingest_rate_per_key`
  requests per minute or `TELEMETRY_INGEST_RATE_PER_KEY`;
- per sender address and key (`AddressRateThrottle`): `Product.ingest_rate_per_address` per minute or
  `TELEMETRY_INGEST_RATE_PER_ADDRESS`. The address is counted as a keyed hash, never as itself, and is
  the client's address behind `TELEMETRY_PROXY_COUNT` trusted proxies.

Counting is a sliding window estimated from two fixed-window counters (the current window's, and the
previous one's weighted by how much of it still overlaps the last `duration` seconds): one counter
per limit and window instead of DRF's list of timestamps, so a limit of 600,000/min costs what one of
10/min does. Every ingest throttle of a view is judged together, in one cache round trip (a Redis
pipeline: create-if-missing with expiry, increment, read the previous window): the first throttle
DRF asks judges them all and keeps the verdicts on the request. A refused request is taken back out
of every counter it was added to, so only accepted requests count, as with DRF's own throttles.

The counters live in the `throttle` cache: Redis (`REDIS_URL`) shares them between every process and
machine (any other Django cache works too, through Django's cache API). Without one (no Redis), each
process keeps its own counters in memory and so has its own limits. When the cache fails (refused,
timeout), requests go through unthrottled: ingest never depends on Redis. A warning is logged at
most once a minute, and the cache is left alone for `TELEMETRY_INGEST_THROTTLE_BACKOFF_SECONDS`, so
a dead Redis costs at most one short timeout per process per back-off period, not one per request.
"""

import contextlib
import functools
import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.base import BaseCache
from django.core.cache.backends.redis import RedisCache
from django.core.exceptions import ImproperlyConfigured
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from apps.core.privacy import keyed_hash

log = logging.getLogger(__name__)

CACHE_ALIAS = "throttle"
# A product's override is a number of requests per minute.
OVERRIDE_DURATION = 60
_WARN_EVERY_SECONDS = 60.0
_VERDICTS_ATTRIBUTE = "_ingest_rate_verdicts"
_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True, slots=True)
class Limit:
    """`num_requests` per `duration` seconds for the requests that share `ident` within `scope`."""

    scope: str
    ident: str
    num_requests: int
    duration: int

    def keys(self, window: int) -> tuple[str, str]:
        """The counter keys of window `window` and of the one before it."""
        base = f"ingest-rate:{self.scope}:{self.duration}:{self.ident}:"
        return f"{base}{window}", f"{base}{window - 1}"


@dataclass(frozen=True, slots=True)
class Verdict:
    allowed: bool
    wait: float | None = None


@functools.lru_cache(maxsize=16)
def parse_rate(rate: str) -> tuple[int, int]:
    """DRF's rate syntax, "N/period" with period s, m(in), h(our) or d(ay): (N, seconds)."""
    num, _, period = rate.partition("/")
    duration = _PERIODS.get(period[:1])
    if not num.strip().isdigit() or duration is None:
        raise ImproperlyConfigured(f"An ingest rate is N/s, N/min, N/hour or N/day, not {rate!r}.")
    return int(num), duration


class IngestRateThrottle(BaseThrottle):
    """One limit on ingest requests; subclasses say which requests share a count and how many may pass."""

    scope = ""

    def __init__(self) -> None:
        self._wait: float | None = None

    def limit(self, request: Request) -> Limit | None:
        """The limit this request counts against, or None when it is not limited by this throttle."""
        raise NotImplementedError

    def allow_request(self, request: Request, view: Any) -> bool:
        verdicts: dict[str, Verdict] | None = getattr(request, _VERDICTS_ATTRIBUTE, None)
        if verdicts is None:
            verdicts = judge(request, _ingest_throttles_of(view, self))
            setattr(request, _VERDICTS_ATTRIBUTE, verdicts)
        verdict = verdicts.get(self.scope)
        if verdict is None or verdict.allowed:
            self._wait = None
            return True
        self._wait = verdict.wait
        return False

    def wait(self) -> float | None:
        return self._wait


def _product_override(request: Request, field: str) -> int | None:
    value = getattr(request.auth, field, None)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _product_pk(request: Request) -> Any:
    return getattr(request.auth, "pk", None)


class KeyRateThrottle(IngestRateThrottle):
    """Requests per ingest key (one product's whole fleet); requests without a product are not counted here."""

    scope = "key"

    def limit(self, request: Request) -> Limit | None:
        pk = _product_pk(request)
        if pk is None:
            return None
        override = _product_override(request, "rate_per_key")
        num, duration = ((override, OVERRIDE_DURATION) if override is not None
                         else parse_rate(settings.TELEMETRY_INGEST_RATE_PER_KEY))
        return Limit(self.scope, str(pk), num, duration)


class AddressRateThrottle(IngestRateThrottle):
    """Requests per sender address and ingest key: one instance (or one NAT) flooding cannot crowd out the
    rest of its fleet. The address is only ever seen here as a keyed hash."""

    scope = "address"

    def limit(self, request: Request) -> Limit | None:
        override = _product_override(request, "rate_per_address")
        num, duration = ((override, OVERRIDE_DURATION) if override is not None
                         else parse_rate(settings.TELEMETRY_INGEST_RATE_PER_ADDRESS))
        address = keyed_hash("ingest-rate-address:" + sender_address(request))[:32]
        pk = _product_pk(request)
        return Limit(self.scope, f"{pk if pk is not None else '-'}:{address}", num, duration)


def sender_address(request: Request) -> str:
    """The sender's address: REMOTE_ADDR, or with TELEMETRY_PROXY_COUNT proxies in front, the entry of
    X-Forwarded-For the outermost of them appended (entries further left are the client's to write).
    The same answer as the login lockout's `client_address`, at a fraction of its cost per request."""
    proxies: int = settings.AXES_IPWARE_PROXY_COUNT or 0
    forwarded: str = request.META.get("HTTP_X_FORWARDED_FOR", "") if proxies else ""
    if forwarded:
        entries = forwarded.split(",")
        return entries[-min(proxies, len(entries))].strip()
    return request.META.get("REMOTE_ADDR", "") or "unknown"


def _ingest_throttles_of(view: Any, asking: IngestRateThrottle) -> list[IngestRateThrottle]:
    """The ingest throttles of `view`, judged together; at least the one asking."""
    get_throttles = getattr(view, "get_throttles", None)
    throttles = [t for t in get_throttles() if isinstance(t, IngestRateThrottle)] if get_throttles else []
    if not any(t.scope == asking.scope for t in throttles):
        throttles.append(asking)
    return throttles


# When the cache last failed, per process: until then it is not asked (fail open without waiting).
_state: dict[str, float] = {"down_until": 0.0, "warned_at": -math.inf}


def judge(request: Request, throttles: list[IngestRateThrottle]) -> dict[str, Verdict]:
    """Count this request against every limit of `throttles`, in one cache round trip; a request refused
    by any limit is taken back out of all of them. Fails open when the cache does."""
    limits = [limit for throttle in throttles if (limit := throttle.limit(request)) is not None]
    if not limits or time.monotonic() < _state["down_until"]:
        return {}
    store = counter_store()
    now = time.time()
    try:
        counts = _count(store, limits, now)
        verdicts = {limit.scope: _verdict(limit, current, previous, now)
                    for limit, (current, previous) in zip(limits, counts, strict=True)}
        if not all(verdict.allowed for verdict in verdicts.values()):
            _uncount(store, limits, now)
    except Exception as exc:  # the cache is down or broken: ingest goes on unthrottled
        _cache_failed(exc)
        return {}
    return verdicts


class ProcessCounters:
    """The counters of this process alone: where they are kept when no `throttle` cache is configured
    (no Redis). A dictionary under a lock, because a Django memory cache validates, pickles and
    expires every key on every call, several times the cost of the counting itself."""

    # A flood of made-up sender addresses must not grow memory without end: past this many
    # counters the expired ones go, and if that is not enough, all of them (failing open for a window).
    MAX_COUNTERS = 100_000

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counters: dict[str, tuple[int, float]] = {}  # key: (count, expires at)

    def count(self, limits: list[Limit], now: float) -> list[tuple[int, int]]:
        counts = []
        with self._lock:
            if len(self._counters) >= self.MAX_COUNTERS:
                self._prune(now)
            for limit in limits:
                window = _window(limit, now)[0]
                current_key, previous_key = limit.keys(window)
                current = self._get(current_key, now) + 1
                self._counters[current_key] = (current, (window + 2) * limit.duration)
                counts.append((current, self._get(previous_key, now)))
        return counts

    def uncount(self, limits: list[Limit], now: float) -> None:
        with self._lock:
            for limit in limits:
                current_key = limit.keys(_window(limit, now)[0])[0]
                count, expires = self._counters.get(current_key, (0, 0.0))
                if count > 0:
                    self._counters[current_key] = (count - 1, expires)

    def clear(self) -> None:
        with self._lock:
            self._counters.clear()

    def _get(self, key: str, now: float) -> int:
        count, expires = self._counters.get(key, (0, 0.0))
        return count if expires > now else 0

    def _prune(self, now: float) -> None:
        self._counters = {key: entry for key, entry in self._counters.items() if entry[1] > now}
        if len(self._counters) >= self.MAX_COUNTERS // 2:
            self._counters.clear()


process_counters = ProcessCounters()


def counter_store() -> "BaseCache | ProcessCounters":
    """The `throttle` cache when one is configured (Redis: shared by every process), else this process's."""
    return caches[CACHE_ALIAS] if CACHE_ALIAS in settings.CACHES else process_counters


def _window(limit: Limit, now: float) -> tuple[int, float]:
    """The window `now` falls in, and the seconds since it began."""
    window = int(now // limit.duration)
    return window, now - window * limit.duration


def _verdict(limit: Limit, current: int, previous: int, now: float) -> Verdict:
    """`current` counts this request. The estimate of the last `duration` seconds weighs the previous
    window by the share of it still inside them."""
    _window_index, elapsed = _window(limit, now)
    remaining = limit.duration - elapsed
    if current + previous * remaining / limit.duration <= limit.num_requests:
        return Verdict(allowed=True)
    return Verdict(allowed=False, wait=_wait_seconds(limit, current - 1, previous, remaining))


def _wait_seconds(limit: Limit, counted: int, previous: int, remaining: float) -> float:
    """Seconds until one more request fits, with `counted` accepted in this window and `remaining`
    seconds of it left; at least 1 (DRF writes no Retry-After for 0)."""
    duration, room = limit.duration, limit.num_requests - counted - 1
    if room >= 0 and previous > 0:
        # It fits in this window once the previous window's weight has shrunk enough.
        wait = remaining - room * duration / previous
    elif limit.num_requests > 0 and counted > 0:
        # In the next window this one's count is the previous one, weighing less as time goes on.
        wait = remaining + duration * (1 - (limit.num_requests - 1) / counted)
    else:
        wait = remaining + duration
    return max(1.0, wait)


def _count(cache: "BaseCache | ProcessCounters", limits: list[Limit], now: float) -> list[tuple[int, int]]:
    """Add one to the current window's counter of each limit; (current, previous) per limit."""
    if isinstance(cache, ProcessCounters):
        return cache.count(limits, now)
    if isinstance(cache, RedisCache):
        # Django's cache API has no "increment, creating with an expiry" (its incr refuses a missing
        # key and costs two round trips): Django's own client runs the commands in one pipeline.
        client = cache._cache.get_client(write=True)
        pipe = client.pipeline(transaction=False)
        for limit in limits:
            current_key, previous_key = (cache.make_and_validate_key(key) for key in limit.keys(_window(limit, now)[0]))
            pipe.set(current_key, 0, ex=2 * limit.duration, nx=True)
            pipe.incr(current_key)
            pipe.get(previous_key)
        replies = pipe.execute()
        return [(int(replies[3 * i + 1]), int(replies[3 * i + 2] or 0)) for i in range(len(limits))]
    counts = []
    for limit in limits:
        current_key, previous_key = limit.keys(_window(limit, now)[0])
        cache.add(current_key, 0, 2 * limit.duration)
        try:
            current = cache.incr(current_key)
        except ValueError:  # expired between the two calls
            cache.set(current_key, 1, 2 * limit.duration)
            current = 1
        counts.append((current, int(cache.get(previous_key, 0))))
    return counts


def _uncount(cache: "BaseCache | ProcessCounters", limits: list[Limit], now: float) -> None:
    """Take a refused request back out of the counters `_count` added it to."""
    if isinstance(cache, ProcessCounters):
        cache.uncount(limits, now)
        return
    if isinstance(cache, RedisCache):
        pipe = cache._cache.get_client(write=True).pipeline(transaction=False)
        for limit in limits:
            pipe.decr(cache.make_and_validate_key(limit.keys(_window(limit, now)[0])[0]))
        pipe.execute()
        return
    for limit in limits:
        with contextlib.suppress(ValueError):  # expired meanwhile: nothing to take back
            cache.decr(limit.keys(_window(limit, now)[0])[0])


def _cache_failed(exc: Exception) -> None:
    backoff = settings.TELEMETRY_INGEST_THROTTLE_BACKOFF_SECONDS
    now = time.monotonic()
    _state["down_until"] = now + backoff
    if now - _state["warned_at"] >= _WARN_EVERY_SECONDS:
        _state["warned_at"] = now
        log.warning("Ingest rate limits are off for the next %s s: their cache is unavailable (%s)",
                    backoff, type(exc).__name__)


def reset_cache_state() -> None:
    """Forget an earlier cache failure (tests; a process that knows the cache is back)."""
    _state["down_until"] = 0.0
    _state["warned_at"] = -math.inf
