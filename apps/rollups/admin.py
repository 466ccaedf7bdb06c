from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse_lazy
from django.utils.html import format_html

from apps.accounts.access import scope_to_products
from apps.accounts.admin_scoping import ProductScopedAdminMixin
from apps.core.admin_export import CsvExportMixin
from apps.core.admin_utils import NoCountPaginator

from .models import DailyBreakdown, DailyRollup, Report


@admin.register(DailyRollup)
class DailyRollupAdmin(ProductScopedAdminMixin, CsvExportMixin, admin.ModelAdmin):
    csv_fields = ("day", "product__slug", *(f.name for f in DailyRollup._meta.fields
                                              if f.name not in ("id", "product", "day")))
    list_display = ("day", "product", "active_instances", "new_instances", "stale_instances", "dead_instances",
                    "resurrected_instances", "heartbeats", "events", "installs_started", "installs_succeeded",
                    "opt_outs")
    list_filter = ("product",)
    date_hierarchy = "day"
    list_select_related = ("product",)
    search_fields = ("product__slug",)
    readonly_fields = [f.name for f in DailyRollup._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # build_rollups computes them


@admin.register(DailyBreakdown)
class DailyBreakdownAdmin(ProductScopedAdminMixin, CsvExportMixin, admin.ModelAdmin):
    csv_fields = ("day", "product__slug", "dimension", "key", "count", "instances")
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
class ReportAdmin(ProductScopedAdminMixin, CsvExportMixin, admin.ModelAdmin):
    csv_fields = ("product__slug", "kind", "period_start", "period_end", "created_at", "sent_at")
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


def recent_breakdown_keys(request: HttpRequest, dimension: str, *, keep_blank: bool = False) -> list[str]:
    """The values the rollups saw last week for a dimension (of the product the list is filtered on),
    not a SELECT DISTINCT over the filtered table: its cost does not grow with the fleet."""
    from datetime import timedelta

    from django.utils import timezone

    since = timezone.now().date() - timedelta(days=7)
    values = scope_to_products(DailyBreakdown.objects.filter(dimension=dimension, day__gte=since), request.user)
    product = request.GET.get("product__id__exact")
    if product and product.isdigit():
        values = values.filter(product_id=int(product))
    keys = values.order_by("key").values_list("key", flat=True).distinct()[:50]
    return [key for key in keys if key or keep_blank]


def breakdown_values_filter(dimension: str, field_name: str, title: str) -> type:
    """A list filter whose choices come from the rollups (recent_breakdown_keys); `(none)` selects
    the blank values a dashboard slice "none or unknown" stands for."""
    from django.contrib.admin import SimpleListFilter

    from apps.core.admin_filters import BLANK

    class BreakdownValuesFilter(SimpleListFilter):
        parameter_name = field_name

        def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
            choices = [(key or BLANK, key or "none or unknown")
                       for key in recent_breakdown_keys(request, dimension, keep_blank=True)]
            # A value linked from a dashboard stays applied even when last week's rollups lack it
            # (the admin ignores a filter without choices).
            value = self.value()
            if value and value not in dict(choices):
                choices.insert(0, (value, value))
            return choices

        def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
            value = self.value()
            if not value:
                return queryset
            return queryset.filter(**{field_name: "" if value == BLANK else value})

    BreakdownValuesFilter.title = title
    return BreakdownValuesFilter


# "View site" in the admin's header leads to the fleet overview: this deployment has no public site
# of its own beyond the ingest API.
# The URLs are not loaded yet, hence a lazy one; the stubs type site_url as a plain str, but the admin
# only renders it in a template, where a lazy string is the same.
admin.site.site_url = reverse_lazy("fleet-dashboard-index")  # type: ignore[assignment]
admin.site.site_header = "Telemetry"
admin.site.site_title = "Telemetry admin"
