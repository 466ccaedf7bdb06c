from django.contrib import admin

from .models import License


@admin.register(License)
class LicenseAdmin(admin.ModelAdmin):
    list_display = ("license_id", "type", "product", "first_seen", "last_seen")
    list_filter = ("product", "type")
    search_fields = ("license_id",)
    list_select_related = ("product",)
    readonly_fields = ("product", "license_id", "first_seen", "last_seen", "created_at", "updated_at")
    date_hierarchy = "last_seen"
