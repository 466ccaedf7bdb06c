from django.contrib import admin

from apps.core.admin_utils import NoCountPaginator

from .models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "product", "instance", "timestamp", "received_at")
    list_filter = ("product", "kind")
    search_fields = ("=name", "=message_id")
    list_select_related = ("product", "instance")
    readonly_fields = ("product", "instance", "kind", "name", "message_id", "timestamp", "received_at",
                       "properties")
    raw_id_fields = ("instance",)
    paginator = NoCountPaginator
    show_full_result_count = False
