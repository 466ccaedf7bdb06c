"""The public statistics page and badge: no login, only products that opted in, cached briefly."""

from django.http import Http404, HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone
from django.views.decorators.cache import cache_page
from django.views.decorators.http import require_GET

from apps.products.models import Product

from .public import PUBLIC_MIN_COUNT, PUBLIC_RANGES, badge_svg, badge_value, public_stats

PUBLIC_CACHE_SECONDS = 300


def _public_product(slug: str) -> Product:
    # The same 404 for unknown and private products: the page does not reveal which products exist.
    product = Product.objects.filter(slug=slug, public_stats=True).only("pk", "slug", "name").first()
    if product is None:
        raise Http404("No public statistics here")
    return product


@require_GET
@cache_page(PUBLIC_CACHE_SECONDS)
def public_stats_view(request: HttpRequest, slug: str) -> HttpResponse:
    product = _public_product(slug)
    stats = public_stats(product=product, range_name=request.GET.get("range", "30d"), today=timezone.now().date())
    return TemplateResponse(request, "public/stats.html", {
        "stats": stats, "product": product, "ranges": list(PUBLIC_RANGES), "minimum": PUBLIC_MIN_COUNT,
        "chart": {"labels": stats.series["labels"], "active": stats.series["active"]},
    })


@require_GET
@cache_page(PUBLIC_CACHE_SECONDS)
def public_badge_view(request: HttpRequest, slug: str) -> HttpResponse:
    product = _public_product(slug)
    svg = badge_svg(label="active instances", value=badge_value(product=product, today=timezone.now().date()))
    return HttpResponse(svg, content_type="image/svg+xml; charset=utf-8")
