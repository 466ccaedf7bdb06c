from django.contrib import admin

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


@admin.register(Report)
class ReportAdmin(admin.ModelAdmin):
    list_display = ("product", "kind", "period_start", "period_end", "created_at", "sent_at")
    list_filter = ("product", "kind")
    search_fields = ("product__slug", "body")
    list_select_related = ("product",)
    readonly_fields = ("product", "kind", "period_start", "period_end", "created_at", "content", "body",
                       "sent_to", "sent_at")
