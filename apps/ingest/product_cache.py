"""The product behind an ingest key, through a per-process cache that staff changes invalidate at once.

Every ping names its product by key; looking it up (with its notices and latest version) on
each request would cost more than storing the ping. So each process caches it, together with
the product's change stamp (apps/products/stamp.py: the database bumps it on every change to
the product, its releases or its notices). The writer reads the stamp inside its transaction,
with the statement that locks the heartbeats' instances (`writer.writes_store`); a request
judged by an entry older than the stamp stores nothing and raises `ProductChanged`, and the
view judges it again against the product as it is now: new event mappings, latest version and notices take effect on
the next ping in every process, and a rotated-out key is refused at once. Entries also expire
after `TELEMETRY_PRODUCT_CACHE_SECONDS` (unknown keys are cached that long too). Deliberately
not Django's cache: that may be Redis, and Redis is never on the ingest path.
"""

import time
from dataclasses import dataclass

from django.conf import settings

from apps.core.versions import Version
from apps.ingest.envelope import EventRules
from apps.products.models import Notice, Product, Release

_MAX_ENTRIES = 1024
_cache: dict[str, tuple[float, "ProductInfo | None"]] = {}


class ProductChanged(Exception):
    """The product changed after the request's cached copy of it was loaded; nothing was stored."""


@dataclass(frozen=True, slots=True)
class ProductInfo:
    pk: int
    slug: str
    stamp: int  # the product's change stamp when this was loaded
    rules: EventRules
    latest_version: str
    heartbeat_interval: int
    notices: tuple[Notice, ...]
    # Per-product rate limit overrides, requests per minute (None: the settings' defaults).
    rate_per_key: int | None = None
    rate_per_address: int | None = None


def product_for_key(key: str, *, fresh: bool = False) -> "ProductInfo | None":
    """The product whose ingest key this is (None when there is none), cached, unknown keys too.

    `fresh` skips the cache (after `ProductChanged`) and caches what it loads.
    """
    ttl = settings.TELEMETRY_PRODUCT_CACHE_SECONDS
    now = time.monotonic()
    if ttl > 0 and not fresh:
        hit = _cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
    info = _load(key)
    if ttl > 0:
        if len(_cache) >= _MAX_ENTRIES:
            _cache.clear()  # a flood of made-up keys must not grow memory
        _cache[key] = (now + ttl, info)
    return info


def clear_product_cache() -> None:
    _cache.clear()


def _load(key: str) -> "ProductInfo | None":
    if not key or len(key) > (Product._meta.get_field("ingest_key").max_length or 0):
        return None
    # The product row (and its stamp) first: a release or notice changed while the rest loads
    # moves the stamp past this one, so the entry is found stale on its first write.
    product = Product.objects.filter(ingest_key=key).first()
    if product is None:
        return None
    latest = product.latest_version
    if not latest:
        versions = Release.objects.filter(product=product).values_list("version", flat=True)
        latest = max(versions, key=Version, default="")
    return ProductInfo(
        pk=product.pk, slug=product.slug, stamp=product.change_stamp,
        rules=EventRules(heartbeat_events=frozenset(product.heartbeat_events or ()),
                         install_events=dict(product.install_events or {})),
        latest_version=latest, heartbeat_interval=product.heartbeat_interval,
        notices=tuple(Notice.objects.filter(product=product, active=True).order_by("pk")),
        rate_per_key=product.ingest_rate_per_key, rate_per_address=product.ingest_rate_per_address,
    )
