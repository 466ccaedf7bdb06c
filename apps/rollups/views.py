"""Fleet pages in the admin (wired through admin.site.admin_view): the overview across products,
one dashboard per product, its "rebuild now" action and the small JSON the pages poll to stay live."""

from datetime import datetime
from typing import Any

from django.contrib import admin, messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.db.models import Max
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.accounts.access import scope_to_products
from apps.alerts.selectors import open_alert_counts
from apps.core.db_router import reads_from_replica
from apps.core.replica import replica_status
from apps.products.models import Product

from .cohorts import AGES_WEEKS
from .dashboard import (
    PRESETS,
    alive,
    date_range_from_params,
    fleet_dashboard,
    fleet_overview,
    sparkline_points,
    status_counts,
)
from .models import DailyRollup

REBUILD_KEY = "fleet-rebuild-queued-at:{slug}"
REBUILD_MEMORY_SECONDS = 6 * 3600


def _require_viewer(request: HttpRequest) -> None:
    if not request.user.has_perm("rollups.view_dailyrollup"):
        raise PermissionDenied


def _product(request: HttpRequest, slug: str) -> Product:
    """The product named in the URL, if this staff user may see it."""
    product = scope_to_products(Product.objects.filter(slug=slug), request.user, "pk").first()
    if product is None:
        raise Http404("No such product")
    return product


def rebuild_state(*, slug: str, as_of: datetime | None) -> dict[str, Any]:
    """Where the last "rebuild now" of a product's page stands: queued and waiting for the worker, or
    done once rollups newer than the request exist. Kept in the cache (Redis in production), shared
    by every process."""
    queued = cache.get(REBUILD_KEY.format(slug=slug))
    if queued is None:
        return {"queued_at": None, "done": True}
    return {"queued_at": queued, "done": bool(as_of and as_of >= queued)}


@reads_from_replica
def fleet_overview_view(request: HttpRequest) -> HttpResponse:
    _require_viewer(request)
    products = list(scope_to_products(Product.objects.order_by("name"), request.user, "pk"))
    rows = fleet_overview(products=products, now=timezone.now())
    alerts = open_alert_counts(product_ids=[p.pk for p in products])
    return TemplateResponse(request, "admin/fleet/overview.html", {
        **admin.site.each_context(request),
        "title": "Fleet overview",
        "replica": replica_status(),
        "rows": [{"row": row, "points": sparkline_points(row.sparkline), "open_alerts": alerts.get(row.product.pk, 0)}
                 for row in rows],
    })


@reads_from_replica
def fleet_dashboard_view(request: HttpRequest, slug: str) -> HttpResponse:
    _require_viewer(request)
    products = list(scope_to_products(Product.objects.order_by("name"), request.user, "pk")
                    .only("slug", "name", "ingest_key"))
    product = next((p for p in products if p.slug == slug), None)
    if product is None:
        raise Http404("No such product")
    now = timezone.now()
    span = date_range_from_params(request.GET, today=now.date())
    dashboard = fleet_dashboard(product=product, span=span, now=now)
    return TemplateResponse(request, "admin/fleet/dashboard.html", {
        **admin.site.each_context(request),
        "title": f"{product.name} fleet",
        "replica": replica_status(),
        "products": products,
        "product": product,
        "span": span,
        "presets": [name for name, _ in PRESETS],
        "dashboard": dashboard,
        "chart_data": dashboard.chart_data(),
        "rebuild": rebuild_state(slug=product.slug, as_of=dashboard.activity["as_of"]),
        "cohort_ages": AGES_WEEKS,
        "ingest_url": request.build_absolute_uri("/api/v1/ingest"),
    })


@require_POST
def fleet_rebuild_view(request: HttpRequest, slug: str) -> HttpResponse:
    """Queue a rebuild of yesterday's and today's rollups (the task the hourly schedule runs)."""
    _require_viewer(request)
    product = _product(request, slug)
    from .tasks import build_rollups

    try:
        build_rollups.apply_async(expires=REBUILD_MEMORY_SECONDS)
    except Exception:  # any broker failure: the page says so instead of answering 500
        messages.error(request, "The rebuild could not be queued: the task broker is unavailable.")
    else:
        cache.set(REBUILD_KEY.format(slug=product.slug), timezone.now(), REBUILD_MEMORY_SECONDS)
        messages.success(request, "Rebuild of yesterday's and today's rollups queued; this page shows "
                                  "when the worker has finished.")
    # Back to the same range: only the query string travels, so the redirect cannot leave the page.
    query = request.POST.get("query", "").lstrip("?")
    return redirect(reverse("fleet-dashboard", args=[product.slug]) + (f"?{query}" if query else ""))


@reads_from_replica
def fleet_live_view(request: HttpRequest, slug: str) -> JsonResponse:
    """What the dashboard polls: live counts, and whether rollups newer than the page exist."""
    _require_viewer(request)
    product = _product(request, slug)
    statuses = status_counts(product=product, now=timezone.now())
    as_of = DailyRollup.objects.filter(product=product).aggregate(as_of=Max("computed_at"))["as_of"]
    state = rebuild_state(slug=product.slug, as_of=as_of)
    return JsonResponse({
        "alive": alive(statuses), "new_today": statuses["new_today"],
        "instances": sum(statuses[s] for s in statuses if s != "new_today"),
        "as_of": as_of.isoformat() if as_of else None,
        "rebuild_queued_at": state["queued_at"].isoformat() if state["queued_at"] else None,
        "rebuild_done": state["done"],
    })
