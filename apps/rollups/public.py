"""Public statistics of a product that opted in (Product.public_stats), like Homebrew's and Grafana's
public numbers: read from the rollups only (aggregates without instance ids), each slice under
PUBLIC_MIN_COUNT folded into "other" so no small group (one customer's version, one country) shows.
"""

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.db.models import Sum

from apps.products.models import Product

from .dashboard import DateRange, bucket_labels, bucketed
from .models import DailyBreakdown, DailyRollup

PUBLIC_MIN_COUNT = 10
PUBLIC_RANGES = {"30d": 30, "90d": 90, "365d": 365}
PUBLIC_DIMENSIONS = ("version", "country")  # country: present once rollups break it down
TOP_SLICES = 10


@dataclass
class PublicStats:
    product: Product
    span: DateRange
    active_now: int | None  # the last complete day's active instances; None below the minimum
    series: dict[str, Any]
    slices: dict[str, list[dict[str, Any]]]
    day: date | None


def suppress_small(rows: list[tuple[str, int]], *, minimum: int = PUBLIC_MIN_COUNT,
                   top: int = TOP_SLICES) -> list[dict[str, Any]]:
    """Slices at or above the minimum, largest first (at most `top`); everything else is "other",
    itself shown only when it reaches the minimum. Blank keys are "unknown"."""
    shown: list[dict[str, Any]] = []
    other = 0
    for key, count in sorted(rows, key=lambda row: (-row[1], row[0])):
        if count >= minimum and len(shown) < top:
            shown.append({"label": key or "unknown", "count": count})
        else:
            other += count
    if other >= minimum:
        shown.append({"label": "other", "count": other})
    return shown


def public_stats(*, product: Product, range_name: str, today: date) -> PublicStats:
    """Three queries: the daily active series, the last complete day with breakdowns, its slices."""
    days = PUBLIC_RANGES.get(range_name, 30)
    last = today - timedelta(days=1)  # today is partial: the public page shows complete days only
    span = DateRange(last - timedelta(days=days - 1), last, range_name if range_name in PUBLIC_RANGES else "30d")
    active = dict(DailyRollup.objects.filter(product=product, day__gte=span.start, day__lte=span.end)
                  .values_list("day", "active_instances"))
    bucket = span.bucket
    values = bucketed(active, days=span.days, bucket=bucket, level=True)
    # A bucket below the minimum is left blank rather than shown exactly.
    series = {"labels": bucket_labels(span.days, bucket), "bucket": bucket,
              "active": [v if v >= PUBLIC_MIN_COUNT else None for v in values]}
    latest = (DailyBreakdown.objects.filter(product=product, dimension__in=PUBLIC_DIMENSIONS, day__lte=span.end,
                                            day__gte=span.start).order_by("-day").values_list("day", flat=True)
              .first())
    slices: dict[str, list[dict[str, Any]]] = {dimension: [] for dimension in PUBLIC_DIMENSIONS}
    if latest is not None:
        grouped: dict[str, list[tuple[str, int]]] = {dimension: [] for dimension in PUBLIC_DIMENSIONS}
        for dimension, key, count in (DailyBreakdown.objects.filter(product=product, day=latest,
                                                                   dimension__in=PUBLIC_DIMENSIONS)
                                      .values("dimension", "key").annotate(n=Sum("count"))
                                      .values_list("dimension", "key", "n")):
            grouped[dimension].append((key, count))
        slices = {dimension: suppress_small(rows) for dimension, rows in grouped.items()}
    last_active = active.get(span.end)
    return PublicStats(product=product, span=span, series=series, slices=slices, day=latest,
                       active_now=last_active if last_active is not None and last_active >= PUBLIC_MIN_COUNT
                       else None)


def badge_value(*, product: Product, today: date) -> str:
    """The badge's number: active instances on the last complete day, rounded like 1.2k; below the
    minimum only "<10" is said."""
    count = (DailyRollup.objects.filter(product=product, day__lt=today).order_by("-day")
             .values_list("active_instances", flat=True).first())
    if count is None:
        return "no data"
    if count < PUBLIC_MIN_COUNT:
        return f"<{PUBLIC_MIN_COUNT}"
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if count >= size:
            return f"{count / size:.1f}".rstrip("0").rstrip(".") + suffix
    return str(count)


def badge_svg(*, label: str, value: str) -> str:
    """A flat, shields.io-like badge; widths from a per-character estimate (Verdana 11px ≈ 7 px)."""
    from django.utils.html import escape

    left, right = 10 + 7 * len(label), 10 + 7 * len(value)
    width = left + right
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="20" role="img" '
            f'aria-label="{escape(label)}: {escape(value)}"><title>{escape(label)}: {escape(value)}</title>'
            f'<rect width="{left}" height="20" fill="#555"/>'
            f'<rect x="{left}" width="{right}" height="20" fill="#2563eb"/>'
            f'<g fill="#fff" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11" text-anchor="middle">'
            f'<text x="{left / 2}" y="14">{escape(label)}</text><text x="{left + right / 2}" y="14">{escape(value)}'
            f'</text></g></svg>')
