from django.contrib import admin
from django.utils.html import format_html

from apps.core.admin_utils import NoCountPaginator

from .models import DailyBreakdown, DailyRollup, Report


@admin.register(DailyRollup)
class DailyRollupAdmin(admin.ModelAdmin):
    list_display = ("day", "product", "active_instances", "new_instances", "stale_instances", "dead_instances",
                    "resurrected_instances", "heartbeats", "events", "installs_started", "installs_succeeded")
    list_filter = ("product",)
    date_hierarchy = "day"
    list_select_related = ("product",)
    search_fields = ("product__slug",)
    readonly_fields = [f.name for f in DailyRollup._meta.fields]


@admin.register(DailyBreakdown)
class DailyBreakdownAdmin(admin.ModelAdmin):
    list_display = ("day", "product", "dimension", "key", "count", "instances")
    list_filter = ("product", "dimension")
    search_fields = ("key",)
    list_select_related = ("product",)
    readonly_fields = [f.name for f in DailyBreakdown._meta.fields]
    paginator = NoCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
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
