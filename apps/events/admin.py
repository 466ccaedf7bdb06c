from django.contrib import admin

from apps.core.admin_utils import NoCountPaginator, recent_filter

from .models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    """The biggest table: no counts, no facets, no date hierarchy; filters are indexed ranges."""

    list_display = ("name", "kind", "product", "instance", "timestamp", "received_at")
    list_filter = ("product", "kind", recent_filter("timestamp", "time"))
    search_fields = ("=name", "=message_id")
    search_help_text = "Exact event name or message id."
    list_select_related = ("product", "instance")
    readonly_fields = ("product", "instance", "kind", "name", "message_id", "timestamp", "received_at",
                       "properties")
    raw_id_fields = ("instance",)
    paginator = NoCountPaginator
    list_per_page = 50
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    def has_add_permission(self, request: object) -> bool:
        return False  # events arrive through ingest
