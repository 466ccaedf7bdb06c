"""Joined reads behind the staff API: every list runs a fixed number of queries whatever its size."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

from django.db.models import Prefetch, QuerySet

from apps.events.models import Event
from apps.instances.models import Installation, Instance
from apps.licenses.models import License
from apps.products.models import Product
from apps.rollups.models import DailyBreakdown, DailyRollup, Report


def products_for_api() -> QuerySet[Product]:
    return Product.objects.order_by("slug")


def instances_for_api() -> QuerySet[Instance]:
    # `id` breaks ties so pages never repeat or skip instances sharing a last_seen.
    return (Instance.objects.select_related("product", "license").prefetch_related("label_rows")
            .order_by("-last_seen", "-id"))


def events_for_api() -> QuerySet[Event]:
    # Only what the API shows of the joined rows: an instance's metrics can be large.
    return Event.objects.select_related("product", "instance").only(
        "id", "kind", "name", "message_id", "timestamp", "received_at", "properties",
        "product__slug", "instance__instance_id")


def installations_for_api() -> QuerySet[Installation]:
    return Installation.objects.select_related("product", "instance").only(
        "id", "install_id", "status", "os", "started_at", "finished_at", "last_seen", "error", "link_reason",
        "product__slug", "instance__instance_id").order_by("-last_seen", "-id")


def licenses_for_api() -> QuerySet[License]:
    instances = Instance.objects.only("id", "license_id", "instance_id", "status", "version", "last_seen").order_by(
        "-last_seen", "-id")
    return License.objects.select_related("product").prefetch_related(
        Prefetch("instances", queryset=instances)).order_by("-last_seen", "-id")


def daily_rollups_for_api() -> QuerySet[DailyRollup]:
    return DailyRollup.objects.select_related("product").order_by("-day", "product__slug")


def reports_for_api() -> QuerySet[Report]:
    return Report.objects.select_related("product").order_by("-period_end", "-created_at", "-id")


def breakdowns_by_day(rollups: Iterable[DailyRollup]) -> dict[tuple[int, date], dict[str, list[dict[str, Any]]]]:
    """The DailyBreakdown rows of each (product, day) of `rollups`, grouped by dimension, in one query."""
    rollups = list(rollups)
    grouped: dict[tuple[int, date], dict[str, list[dict[str, Any]]]] = defaultdict(
        lambda: {dimension: [] for dimension in DailyBreakdown.Dimension.values})
    if not rollups:
        return grouped
    wanted = {(r.product_id, r.day) for r in rollups}
    rows = DailyBreakdown.objects.filter(
        product_id__in={product for product, _ in wanted}, day__in={day for _, day in wanted},
    ).order_by("dimension", "-count", "key").values_list("product_id", "day", "dimension", "key", "count", "instances")
    for product_id, day, dimension, key, count, instances in rows:
        # The query covers every product-day combination of the page; keep only the pairs on it.
        if (product_id, day) in wanted:
            entry = {"key": key, "count": count, "instances": instances}
            grouped[(product_id, day)].setdefault(dimension, []).append(entry)
    return grouped
