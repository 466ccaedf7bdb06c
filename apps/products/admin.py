from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html

from apps.accounts.access import is_product_limited
from apps.accounts.admin_scoping import ProductScopedAdminMixin
from apps.core.admin_durations import DurationSecondsField, humanize_seconds
from apps.core.admin_export import CsvExportMixin

from .audience import notice_audience, notice_is_live, release_audience, version_range_audience
from .models import Notice, Product, Release
from .services import product_rotate_ingest_key


class ReleaseInline(admin.TabularInline):
    model = Release
    extra = 0
    fields = ("version", "released_at", "notes_url")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


class ProductForm(forms.ModelForm):
    """Heartbeat durations in minutes/hours/days; an empty "stale after" says which default applies."""

    heartbeat_interval = DurationSecondsField(help_text="Time between two heartbeats of a healthy instance.")
    stale_after = DurationSecondsField(required=False)
    dead_after = DurationSecondsField(help_text="Time without a heartbeat before an instance is dead.")

    class Meta:
        model = Product
        fields = ("slug", "name", "latest_version", "heartbeat_interval", "stale_after", "dead_after",
                  "heartbeat_events", "install_events", "retention_days", "report_recipients", "public_stats",
                  "ingest_rate_per_key", "ingest_rate_per_address")
        widgets = {"latest_version": forms.TextInput(attrs={"size": 20}),
                   "retention_days": forms.NumberInput(attrs={"style": "width: 8em"})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        interval = self.instance.heartbeat_interval if self.instance.pk else Product().heartbeat_interval
        in_force = humanize_seconds(Product(heartbeat_interval=interval).stale_after_seconds)
        self.fields["stale_after"].help_text = (
            f"Time without a heartbeat before an instance is stale. Empty: twice the heartbeat interval plus an hour "
            f"(in force now: {in_force}).")


@admin.register(Product)
class ProductAdmin(ProductScopedAdminMixin, CsvExportMixin, admin.ModelAdmin):
    product_field = "pk"
    form = ProductForm
    list_display = ("slug", "name", "dashboard", "latest_version", "heartbeat_every", "stale_after_shown",
                    "dead_after_shown", "retention_days", "updated_at")
    csv_fields = ("slug", "name", "latest_version", "heartbeat_interval", "stale_after", "dead_after",
                  "retention_days", "created_at", "updated_at")
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
        ("Data", {"fields": ("retention_days", "report_recipients", "public_stats")}),
        ("Rate limits", {"fields": ("ingest_rate_per_key", "ingest_rate_per_address")}),
        ("Timestamps", {"fields": ("created_at", "updated_at")}),
    )

    @admin.display(description="heartbeat every", ordering="heartbeat_interval")
    def heartbeat_every(self, product: Product) -> str:
        return humanize_seconds(product.heartbeat_interval)

    @admin.display(description="stale after", ordering="stale_after")
    def stale_after_shown(self, product: Product) -> str:
        shown = humanize_seconds(product.stale_after_seconds)
        return shown if product.stale_after else f"{shown} (default)"

    @admin.display(description="dead after", ordering="dead_after")
    def dead_after_shown(self, product: Product) -> str:
        return humanize_seconds(product.dead_after)

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> tuple[list[Any], dict[str, int], set[str],
                                                                           list[Any]]:
        """The delete confirmation counts what goes per table instead of listing every instance and
        event (a crawl at production volume)."""
        from apps.events.models import Event
        from apps.instances.models import Installation, Instance
        from apps.licenses.models import License

        products = list(objs)
        ids = [p.pk for p in products]
        counts = {"instances": Instance.objects.filter(product_id__in=ids).count(),
                  "events": Event.objects.filter(product_id__in=ids).count(),
                  "installations": Installation.objects.filter(product_id__in=ids).count(),
                  "licenses": License.objects.filter(product_id__in=ids).count()}
        perms_needed = set() if self.has_delete_permission(request) else {"product"}
        summary = [f"{p.name} ({p.slug})" for p in products] + [
            f"{n} {name}" for name, n in counts.items() if n]
        return summary, {"products": len(products), **counts}, perms_needed, []

    def has_add_permission(self, request: HttpRequest) -> bool:
        # Staff limited to some products could never see a product they created.
        return super().has_add_permission(request) and not is_product_limited(request.user)

    @admin.display(description="Fleet")
    def dashboard(self, product: Product) -> str:
        link = format_html('<a href="{}">dashboard</a>', reverse("fleet-dashboard", args=[product.slug]))
        if product.public_stats:
            link = format_html('{} · <a href="{}">public page</a>', link, reverse("public-stats", args=[product.slug]))
        return link

    @admin.action(description="Rotate the ingest key (old clients stop being accepted)")
    def rotate_ingest_key(self, request: HttpRequest, queryset: QuerySet[Product]) -> None:
        now = timezone.now()
        for product in queryset:  # a handful of products, never the fleet
            product_rotate_ingest_key(product=product, now=now)
        self.message_user(request, f"Rotated the ingest key of {queryset.count()} product(s).", messages.SUCCESS)


@admin.register(Release)
class ReleaseAdmin(ProductScopedAdminMixin, CsvExportMixin, admin.ModelAdmin):
    csv_fields = ("version", "product__slug", "released_at", "notes_url")
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


class ReachQuery(forms.Form):
    product = forms.IntegerField(min_value=1)
    min_version = forms.CharField(max_length=64, required=False)
    max_version = forms.CharField(max_length=64, required=False)


@admin.register(Notice)
class NoticeAdmin(ProductScopedAdminMixin, CsvExportMixin, admin.ModelAdmin):
    """A notice is a draft until staff press "Publish": `active` is never a checkbox, so a first save
    cannot send it to the fleet, and the reach preview updates while the range is being typed."""

    list_display = ("title", "product", "level", "min_version", "max_version", "active", "starts_at", "ends_at",
                    "created_at")
    list_filter = ("product", "level", "active")
    search_fields = ("title", "message")
    list_select_related = ("product",)
    readonly_fields = ("published", "created_at", "updated_at")
    change_form_template = "admin/products/notice/change_form.html"
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    csv_fields = ("title", "product__slug", "level", "min_version", "max_version", "active", "starts_at", "ends_at",
                  "created_at")
    fieldsets = (
        (None, {"fields": ("product", "level", "title", "message", "url")}),
        ("Who gets it", {"fields": ("min_version", "max_version", "starts_at", "ends_at", "published"),
                         "description": "Instances whose version lies in [min, max] get this notice in the "
                                        "answer to their heartbeats once it is published and within its dates."}),
        ("Timestamps", {"fields": ("created_at", "updated_at")}),
    )

    @admin.display(description="published")
    def published(self, notice: Notice) -> str:
        # The model's default is True for notices made elsewhere (API, shell); here a new one is a draft.
        return "yes" if notice.pk and notice.active else "no: a draft until “Publish”"

    def get_urls(self) -> list[URLPattern]:
        return [path("reach/", self.admin_site.admin_view(self.reach_view), name="products_notice_reach"),
                *super().get_urls()]

    def reach_view(self, request: HttpRequest) -> JsonResponse:
        """How many instances a version range reaches, for the preview beside the form (JSON)."""
        if not self.has_view_or_change_permission(request) and not self.has_add_permission(request):
            return JsonResponse({"error": "forbidden"}, status=403)
        query = ReachQuery(request.GET)
        if not query.is_valid():
            return JsonResponse({"error": "invalid", "fields": query.errors.get_json_data()}, status=400)
        audience = version_range_audience(product_id=query.cleaned_data["product"],
                                          min_version=query.cleaned_data["min_version"],
                                          max_version=query.cleaned_data["max_version"])
        return JsonResponse({"alive": audience.alive, "total": audience.total,
                             "versions": [{"version": v.version, "alive": v.alive} for v in audience.versions[:30]]})

    def save_model(self, request: HttpRequest, obj: Notice, form: forms.ModelForm, change: bool) -> None:
        if "_publish" in request.POST:
            obj.active = True
        elif "_unpublish" in request.POST or not change:
            obj.active = False  # a new notice is a draft until "Publish"
        super().save_model(request, obj, form, change)

    def response_change(self, request: HttpRequest, obj: Notice) -> HttpResponse:
        if "_publish" in request.POST or "_unpublish" in request.POST:
            state = "published: instances in range get it with their next heartbeat" if obj.active else "unpublished"
            self.message_user(request, f"Notice “{obj.title}” {state}.", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:products_notice_change", args=[obj.pk]))
        return super().response_change(request, obj)

    def response_add(self, request: HttpRequest, obj: Notice, post_url_continue: str | None = None) -> HttpResponse:
        if "_publish" in request.POST:
            self.message_user(request, f"Notice “{obj.title}” published.", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:products_notice_change", args=[obj.pk]))
        return super().response_add(request, obj, post_url_continue)

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        notice = self.get_object(request, object_id)
        extra: dict[str, Any] = {"reach_url": reverse("admin:products_notice_reach")}
        if notice is not None:
            extra |= {"audience": notice_audience(notice=notice),
                      "live_now": notice_is_live(notice=notice, now=timezone.now()),
                      "answer_preview": notice.as_answer()}
        return super().change_view(request, object_id, form_url, {**extra, **(extra_context or {})})

    def add_view(self, request: HttpRequest, form_url: str = "",
                 extra_context: dict[str, Any] | None = None) -> HttpResponse:
        extra = {"reach_url": reverse("admin:products_notice_reach")}
        return super().add_view(request, form_url, {**extra, **(extra_context or {})})
