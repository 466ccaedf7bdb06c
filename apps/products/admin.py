from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from .models import Notice, Product, Release, generate_ingest_key


class ReleaseInline(admin.TabularInline):
    model = Release
    extra = 0
    fields = ("version", "released_at", "notes_url")


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "latest_version", "heartbeat_interval", "stale_after", "dead_after",
                    "retention_days", "updated_at")
    search_fields = ("slug", "name")
    list_filter = ("created_at",)
    readonly_fields = ("ingest_key", "created_at", "updated_at")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [ReleaseInline]
    actions = ["rotate_ingest_key"]
    fieldsets = (
        (None, {"fields": ("slug", "name", "ingest_key", "latest_version")}),
        ("Heartbeats", {"fields": ("heartbeat_interval", "stale_after", "dead_after", "heartbeat_events")}),
        ("Installs", {"fields": ("install_events",)}),
        ("Data", {"fields": ("retention_days", "report_recipients")}),
        ("Timestamps", {"fields": ("created_at", "updated_at")}),
    )

    @admin.action(description="Rotate the ingest key (old clients stop being accepted)")
    def rotate_ingest_key(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        for product in queryset:  # a handful of products, never the fleet
            product.ingest_key = generate_ingest_key()
            product.save(update_fields=["ingest_key", "updated_at"])
        self.message_user(request, f"Rotated the ingest key of {queryset.count()} product(s).", messages.SUCCESS)


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    list_display = ("version", "product", "released_at", "notes_url")
    list_filter = ("product",)
    search_fields = ("version",)
    list_select_related = ("product",)
    readonly_fields = ("created_at", "updated_at")


@admin.register(Notice)
class NoticeAdmin(admin.ModelAdmin):
    list_display = ("title", "product", "level", "min_version", "max_version", "active", "created_at")
    list_filter = ("product", "level", "active")
    search_fields = ("title", "message")
    list_select_related = ("product",)
    readonly_fields = ("created_at", "updated_at")
