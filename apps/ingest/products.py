"""The product behind an ingest key, through a small per-process cache.

Every ping names its product by key; looking it up (with its notices and latest version) on
each request would cost more than storing the ping. Entries live a few seconds
(`TELEMETRY_PRODUCT_CACHE_SECONDS`), so staff changes to notices or versions reach clients
quickly. Deliberately not Django's cache: that may be Redis, and Redis is never on the ingest path.
"""

import time
from dataclasses import dataclass

from django.conf import settings

from apps.core.versions import Version
from apps.ingest.envelope import EventRules
from apps.products.models import Notice, Product, Release

_MAX_ENTRIES = 1024
_cache: dict[str, tuple[float, "ProductInfo | None"]] = {}


@dataclass(frozen=True, slots=True)
class ProductInfo:
    pk: int
    slug: str
    rules: EventRules
    latest_version: str
    heartbeat_interval: int
    notices: tuple[Notice, ...]


def product_for_key(key: str) -> "ProductInfo | None":
    """The product whose ingest key this is (None when there is none), cached briefly, unknown keys too."""
    ttl = settings.TELEMETRY_PRODUCT_CACHE_SECONDS
    now = time.monotonic()
    if ttl > 0:
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
    if not key or len(key) > Product._meta.get_field("ingest_key").max_length:
        return None
    product = Product.objects.filter(ingest_key=key).first()
    if product is None:
        return None
    latest = product.latest_version
    if not latest:
        versions = Release.objects.filter(product=product).values_list("version", flat=True)
        latest = max(versions, key=Version, default="")
    return ProductInfo(
        pk=product.pk, slug=product.slug,
        rules=EventRules(heartbeat_events=frozenset(product.heartbeat_events or ()),
                         install_events=dict(product.install_events or {})),
        latest_version=latest, heartbeat_interval=product.heartbeat_interval,
        notices=tuple(Notice.objects.filter(product=product, active=True).order_by("pk")),
    )
