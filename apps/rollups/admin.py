from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html

from apps.accounts.access import scope_to_products
from apps.accounts.admin_scoping import ProductScopedAdminMixin
from apps.core.admin_utils import NoCountPaginator

from .models import DailyBreakdown, DailyRollup, Report


@admin.register(DailyRollup)
class DailyRollupAdmin(ProductScopedAdminMixin, admin.ModelAdmin):
    list_display = ("day", "product", "active_instances", "new_instances", "stale_instances", "dead_instances",
                    "resurrected_instances", "heartbeats", "events", "installs_started", "installs_succeeded")
    list_filter = ("product",)
    date_hierarchy = "day"
    list_select_related = ("product",)
    search_fields = ("product__slug",)
    readonly_fields = [f.name for f in DailyRollup._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # build_rollups computes them


@admin.register(DailyBreakdown)
class DailyBreakdownAdmin(ProductScopedAdminMixin, admin.ModelAdmin):
    list_display = ("day", "product", "dimension", "key", "count", "instances")
    list_filter = ("product", "dimension")
    search_fields = ("key",)
    list_select_related = ("product",)
    readonly_fields = [f.name for f in DailyBreakdown._meta.fields]
    paginator = NoCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # build_rollups computes them


@admin.register(Report)
class ReportAdmin(ProductScopedAdminMixin, admin.ModelAdmin):
    list_display = ("product", "kind", "period_start", "period_end", "created_at", "sent_at", "sent_to")
    list_filter = ("product", "kind", "period_end")
    search_fields = ("product__slug", "body")
    list_select_related = ("product",)
    readonly_fields = ("product", "kind", "period_start", "period_end", "created_at", "report", "content",
                       "sent_to", "sent_at")
    exclude = ("body",)
    date_hierarchy = "period_end"

    def has_add_permission(self, request: object) -> bool:
        return False  # reports are built by send_reports from the rollups

    @admin.display(description="Report")
    def report(self, report: Report) -> str:
        return format_html('<pre style="white-space: pre-wrap">{}</pre>', report.body or "(empty)")


def breakdown_values_filter(dimension: str, field_name: str, title: str) -> type:
    """A list filter whose choices are the values the rollups saw last week (DailyBreakdown), not a
    SELECT DISTINCT over the filtered table: its cost does not grow with the fleet."""
    from datetime import timedelta

    from django.contrib.admin import SimpleListFilter
    from django.utils import timezone

    class BreakdownValuesFilter(SimpleListFilter):
        parameter_name = field_name

        def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
            since = timezone.now().date() - timedelta(days=7)
            values = scope_to_products(DailyBreakdown.objects.filter(dimension=dimension, day__gte=since),
                                       request.user)
            product = request.GET.get("product__id__exact")
            if product and product.isdigit():
                values = values.filter(product_id=int(product))
            keys = values.order_by("key").values_list("key", flat=True).distinct()[:50]
            return [(key, key) for key in keys if key]

        def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
            return queryset.filter(**{field_name: self.value()}) if self.value() else queryset

    BreakdownValuesFilter.title = title
    return BreakdownValuesFilter
