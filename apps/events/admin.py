from django.contrib import admin

from apps.accounts.admin_scoping import ProductScopedAdminMixin
from apps.core.admin_export import CsvExportMixin
from apps.core.admin_utils import NoCountPaginator, instance_link_html, recent_filter

from .models import Event


@admin.register(Event)
class EventAdmin(ProductScopedAdminMixin, CsvExportMixin, admin.ModelAdmin):
    """The biggest table: no counts, no facets, no date hierarchy; filters are indexed ranges."""

    list_display = ("name", "kind", "product", "instance_link", "time", "received")
    csv_fields = ("name", "kind", "product__slug", "instance__instance_id", "timestamp", "received_at", "message_id")
    list_filter = ("product", "kind", recent_filter("timestamp", "time"))
    # Case-sensitive lookups: `=` would be iexact, UPPER() on every row of the biggest table.
    search_fields = ("name__exact", "message_id__exact")
    search_help_text = "Exact event name or message id."
    list_select_related = ("product", "instance")
    readonly_fields = ("product", "instance", "kind", "name", "message_id", "timestamp", "received_at",
                       "properties")
    raw_id_fields = ("instance",)
    paginator = NoCountPaginator
    list_per_page = 50
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    class Media:
        css = {"all": ["telemetry/admin.css"]}

    def has_add_permission(self, request: object) -> bool:
        return False  # events arrive through ingest

    @admin.display(description="instance", ordering="instance")
    def instance_link(self, event: Event) -> str:
        return instance_link_html(event.instance)

    @admin.display(description="time (UTC)", ordering="timestamp")
    def time(self, event: Event) -> str:
        return f"{event.timestamp:%Y-%m-%d %H:%M:%S}"

    # Not sortable: an index on received_at would cost every ingested event more than it saves here.
    @admin.display(description="received")
    def received(self, event: Event) -> str:
        return f"{event.received_at:%Y-%m-%d %H:%M:%S}"
