from typing import Any

from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from apps.accounts.access import is_product_limited
from apps.accounts.admin_scoping import ProductScopedAdminMixin

from .audience import notice_audience, notice_is_live, release_audience
from .models import Notice, Product, Release
from .services import product_rotate_ingest_key


class ReleaseInline(admin.TabularInline):
    model = Release
    extra = 0
    fields = ("version", "released_at", "notes_url")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Product)
class ProductAdmin(ProductScopedAdminMixin, admin.ModelAdmin):
    product_field = "pk"
    list_display = ("slug", "name", "dashboard", "latest_version", "heartbeat_interval", "stale_after", "dead_after",
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Staff limited to some products could never see a product they created.
        return super().has_add_permission(request) and not is_product_limited(request.user)

    @admin.display(description="Fleet")
    def dashboard(self, product: Product) -> str:
        return format_html('<a href="{}">dashboard</a>', reverse("fleet-dashboard", args=[product.slug]))

    @admin.action(description="Rotate the ingest key (old clients stop being accepted)")
    def rotate_ingest_key(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        now = timezone.now()
        for product in queryset:  # a handful of products, never the fleet
            product_rotate_ingest_key(product=product, now=now)
        self.message_user(request, f"Rotated the ingest key of {queryset.count()} product(s).", messages.SUCCESS)


@admin.register(Release)
class ReleaseAdmin(ProductScopedAdminMixin, admin.ModelAdmin):
    list_display = ("version", "product", "released_at", "is_latest", "notes_url")
    list_filter = ("product", "released_at")
    search_fields = ("=version",)
    list_select_related = ("product",)
    readonly_fields = ("created_at", "updated_at")
    date_hierarchy = "released_at"
    change_form_template = "admin/products/release/change_form.html"
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    @admin.display(boolean=True, description="Latest")
    def is_latest(self, release: Release) -> bool:
        return release.version == release.product.latest_version

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        release = self.get_object(request, object_id)
        extra = {"audience": release_audience(release=release)} if release else {}
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})


@admin.register(Notice)
class NoticeAdmin(ProductScopedAdminMixin, admin.ModelAdmin):
    list_display = ("title", "product", "level", "min_version", "max_version", "active", "starts_at", "ends_at",
                    "created_at")
    list_filter = ("product", "level", "active")
    search_fields = ("title", "message")
    list_select_related = ("product",)
    readonly_fields = ("created_at", "updated_at")
    change_form_template = "admin/products/notice/change_form.html"
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    fieldsets = (
        (None, {"fields": ("product", "level", "title", "message", "url")}),
        ("Who gets it", {"fields": ("min_version", "max_version", "active", "starts_at", "ends_at"),
                         "description": "Instances whose version lies in [min, max] get this notice in the "
                                        "answer to their heartbeats while it is active. Save to preview them."}),
        ("Timestamps", {"fields": ("created_at", "updated_at")}),
    )

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        notice = self.get_object(request, object_id)
        extra = {}
        if notice is not None:
            extra = {"audience": notice_audience(notice=notice),
                     "live_now": notice_is_live(notice=notice, now=timezone.now()),
                     "answer_preview": notice.as_answer()}
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})
