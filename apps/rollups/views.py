"""The fleet dashboard: a custom admin page per product (wired through admin.site.admin_view)."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils import timezone

from apps.accounts.access import scope_to_products
from apps.products.models import Product

from .dashboard import PRESETS, date_range_from_params, fleet_dashboard


def fleet_dashboard_view(request: HttpRequest, slug: str | None = None) -> HttpResponse:
    if not request.user.has_perm("rollups.view_dailyrollup"):
        raise PermissionDenied
    products = list(scope_to_products(Product.objects.order_by("name"), request.user, "pk").only("slug", "name"))
    if slug is None:
        if products:
            return redirect("fleet-dashboard", slug=products[0].slug)
        return TemplateResponse(request, "admin/fleet/empty.html", {
            **admin.site.each_context(request), "title": "Fleet dashboard"})
    product = next((p for p in products if p.slug == slug), None)
    if product is None:
        raise Http404("No such product")
    span = date_range_from_params(request.GET, today=timezone.now().date())
    dashboard = fleet_dashboard(product=product, span=span)
    return TemplateResponse(request, "admin/fleet/dashboard.html", {
        **admin.site.each_context(request),
        "title": f"{product.name} fleet",
        "products": products,
        "product": product,
        "span": span,
        "presets": [name for name, _ in PRESETS],
        "dashboard": dashboard,
        "chart_data": dashboard.chart_data(),
    })
