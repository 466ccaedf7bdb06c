from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.auth.base_user import AbstractBaseUser
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from apps.accounts.admin_scoping import ProductScopedAdminMixin
from apps.core.admin_export import CsvExportMixin
from apps.core.admin_filters import LicenseTypeFilter, VersionPrefixFilter, starts_with_filter, version_prefix_q
from apps.core.admin_utils import NoCountPaginator, instance_link_html, recent_filter, short_id_html, utc_minutes
from apps.ingest.envelope import DEVELOPMENT_CONTEXT
from apps.rollups.admin import breakdown_values_filter

from . import page_selectors
from .models import (
    CollectionChange,
    CollectionLevel,
    ErasedInstance,
    Installation,
    Instance,
    StatusChange,
)
from .services import instance_erase, instance_set_labels, instances_set_collection


def _acting(request: HttpRequest) -> AbstractBaseUser | None:
    """The staff user a change is recorded against (admin views are only ever reached signed in)."""
    return request.user if request.user.is_authenticated else None


class BuildFilter(admin.SimpleListFilter):
    """Production or development builds (Hasura's `_test` topics): no SELECT DISTINCT, two fixed choices."""

    title = "build"
    parameter_name = "build"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("production", "production"), ("development", "development")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Instance]) -> QuerySet[Instance]:
        if self.value() == "development":
            return queryset.filter(context=DEVELOPMENT_CONTEXT)
        if self.value() == "production":
            return queryset.exclude(context=DEVELOPMENT_CONTEXT)
        return queryset


class CollectionForm(forms.Form):
    level = forms.ChoiceField(choices=CollectionLevel.choices)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=True)


class EraseForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3, "cols": 60}), required=True,
                             help_text="Kept in the erasure record (for example the ticket of the request).")


class LabelsForm(forms.Form):
    labels = forms.CharField(required=False, max_length=2000, help_text="Comma-separated, e.g. paying, customer-acme.")


@admin.register(Instance)
class InstanceAdmin(ProductScopedAdminMixin, CsvExportMixin, admin.ModelAdmin):
    # Key columns first and narrow ones only, so "last heartbeat" is on screen at 1440 px.
    list_display = ("short_id", "product", "status_badge", "version", "edition", "os", "license_type",
                    "collection_badge", "last_heartbeat")
    list_display_links = ("short_id",)
    list_filter = ("product", "status", VersionPrefixFilter, "collection", BuildFilter,
                   recent_filter("last_seen", "last heartbeat"),
                   breakdown_values_filter("edition", "edition", "edition"),
                   breakdown_values_filter("os", "os", "operating system"), LicenseTypeFilter,
                   breakdown_values_filter("country", "country", "country"))
    # Prefix on the id (the instance_id_prefix index); a version-looking term is a version prefix.
    search_fields = ("instance_id__startswith",)
    search_help_text = "The start of an instance id, or a version: 1.9, v1.9, 1.9.x or 1.9.56."
    csv_fields = ("instance_id", "product__slug", "status", "version", "edition", "os", "arch", "collection",
                  "license__type", "first_seen", "last_seen", "heartbeat_count")
    list_select_related = ("product", "license")
    readonly_fields = ("product", "instance_id", "first_seen", "last_seen", "status", "status_changed_at",
                       "collection", "ip_hash", "country", "license", "heartbeat_count", "dropped_count", "metrics",
                       "created_at", "updated_at")
    fields = ("product", "instance_id", "status", "status_changed_at", "version", "edition", "os", "arch",
              "context", "collection", "license", "first_seen", "last_seen", "heartbeat_count",
              "dropped_count", "ip_hash", "country", "metrics", "created_at", "updated_at")
    paginator = NoCountPaginator
    list_per_page = 50
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    actions = ["set_collection_level"]

    class Media:
        css = {"all": ["telemetry/admin.css"]}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # instances exist because they pinged; ingest creates them

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        # A bulk delete would not be erasure (the next ping recreates the instance): erase one by one.
        actions.pop("delete_selected", None)
        return actions

    def get_search_results(self, request: HttpRequest, queryset: QuerySet[Instance],
                           search_term: str) -> tuple[QuerySet[Instance], bool]:
        version = version_prefix_q(search_term) if search_term and search_term[:1] in "vV0123456789" else None
        if version is not None and "." in search_term:
            return queryset.filter(version), False
        return super().get_search_results(request, queryset, search_term)

    def delete_view(self, request: HttpRequest, object_id: str,
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """Delete is erasure: the API's service, a reason required, an audit row, and ingest drops the
        instance's later pings. The page names what goes, by count, never by listing events."""
        instance = page_selectors.instance_for_page(pk=object_id) if object_id.isdigit() else None
        if instance is None:
            raise Http404("No such instance")
        if not self.has_delete_permission(request, instance):
            raise PermissionDenied
        form = EraseForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                instance_erase(instance_pk=instance.pk, user=_acting(request), now=timezone.now(),
                               reason=form.cleaned_data["reason"])
            except Instance.DoesNotExist:
                self.message_user(request, "This instance was already erased.", messages.INFO)
            else:
                self.message_user(request, f"Instance {instance.instance_id} erased; its next pings are dropped.",
                                  messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:instances_instance_changelist"))
        return TemplateResponse(request, "admin/instances/instance/erase.html", {
            **self.admin_site.each_context(request),
            "title": "Erase this instance?",
            "subtitle": None,
            "opts": self.opts,
            "original": instance,
            "instance": instance,
            "form": form,
        })

    @admin.display(description="instance id", ordering="instance_id")
    def short_id(self, instance: Instance) -> str:
        return short_id_html(instance.instance_id)

    @admin.display(description="last heartbeat (UTC)", ordering="last_seen")
    def last_heartbeat(self, instance: Instance) -> str:
        return utc_minutes(instance.last_seen)

    @admin.display(description="license")
    def license_type(self, instance: Instance) -> str:
        return (instance.license.type or "unknown type") if instance.license else "—"

    @admin.display(description="status", ordering="status")
    def status_badge(self, instance: Instance) -> str:
        return format_html('<span class="badge {}">{}</span>', instance.status, instance.status)

    @admin.display(description="collection", ordering="collection")
    def collection_badge(self, instance: Instance) -> str:
        return format_html('<span class="badge {}">{}</span>', instance.collection, instance.collection)

    def get_urls(self) -> list[URLPattern]:
        return [
            path("<path:object_id>/collection/", self.admin_site.admin_view(self.collection_view),
                 name="instances_instance_collection"),
            path("<path:object_id>/labels/", self.admin_site.admin_view(self.labels_view),
                 name="instances_instance_labels"),
            *super().get_urls(),
        ]

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        """The instance page: bounded reads (history, versions, a page of events), nothing to edit but
        the collection level, which has its own form and audit trail."""
        instance = page_selectors.instance_for_page(pk=object_id) if object_id.isdigit() else None
        if instance is None:
            raise Http404("No such instance")
        if not self.has_view_or_change_permission(request, instance):
            raise PermissionDenied
        events = page_selectors.instance_events_page(instance=instance, page=request.GET.get("events", 1))
        return TemplateResponse(request, "admin/instances/instance/page.html", {
            **self.admin_site.each_context(request),
            "title": f"{instance.product.name} instance {instance.instance_id}",
            "subtitle": None,
            "opts": self.opts,
            "original": instance,
            "instance": instance,
            "status_history": page_selectors.instance_status_history(instance=instance),
            "versions": page_selectors.instance_versions_seen(instance=instance),
            "metrics": page_selectors.flatten_metrics(instance.metrics),
            "events": events,
            "collection_history": page_selectors.instance_collection_history(instance=instance),
            "installations": page_selectors.instance_installations(instance=instance),
            "collection_form": CollectionForm(initial={"level": instance.collection}),
            "labels": page_selectors.instance_labels(instance=instance),
            "can_change": self.has_change_permission(request, instance),
            "can_delete": self.has_delete_permission(request, instance),
            "outdated": instance.product.is_outdated(instance.version),
            **(extra_context or {}),
        })

    @staticmethod
    def _page_url(pk: int) -> str:
        return reverse("admin:instances_instance_change", args=[pk])

    def collection_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return require_POST(self._change_collection)(request, object_id)

    def _change_collection(self, request: HttpRequest, object_id: str) -> HttpResponse:
        instance = Instance.objects.filter(pk=object_id).first() if object_id.isdigit() else None
        if instance is None:
            raise Http404("No such instance")
        if not self.has_change_permission(request, instance):
            raise PermissionDenied
        form = CollectionForm(request.POST)
        if not form.is_valid():
            self.message_user(request, "Choose a level and give a reason.", messages.ERROR)
            return HttpResponseRedirect(self._page_url(instance.pk))
        changed = instances_set_collection(
            instance_ids=[instance.pk], level=form.cleaned_data["level"], reason=form.cleaned_data["reason"],
            user=_acting(request), now=timezone.now())
        if changed:
            self.message_user(request, f"Collection level set to {form.cleaned_data['level']}.", messages.SUCCESS)
        else:
            self.message_user(request, f"The level already was {form.cleaned_data['level']}.", messages.INFO)
        return HttpResponseRedirect(self._page_url(instance.pk))

    def labels_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        return require_POST(self._change_labels)(request, object_id)

    def _change_labels(self, request: HttpRequest, object_id: str) -> HttpResponse:
        instance = Instance.objects.filter(pk=object_id).first() if object_id.isdigit() else None
        if instance is None:
            raise Http404("No such instance")
        if not self.has_change_permission(request, instance):
            raise PermissionDenied
        form = LabelsForm(request.POST)
        try:
            if not form.is_valid():
                raise ValidationError("At most 2000 characters of labels.")
            labels = instance_set_labels(instance=instance, labels=form.cleaned_data["labels"].split(",")
                                         if form.cleaned_data["labels"].strip() else [])
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
        else:
            self.message_user(request, f"Labels: {', '.join(labels) or 'none'}.", messages.SUCCESS)
        return HttpResponseRedirect(self._page_url(instance.pk))

    @admin.action(description="Set the collection level of the selected instances…")
    def set_collection_level(self, request: HttpRequest, queryset: QuerySet[Instance]) -> HttpResponse | None:
        form = CollectionForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            changed = instances_set_collection(
                instance_ids=queryset.values_list("pk", flat=True), level=form.cleaned_data["level"],
                reason=form.cleaned_data["reason"], user=_acting(request), now=timezone.now())
            self.message_user(request, f"Collection level set to {form.cleaned_data['level']} on "
                                       f"{changed} instance(s).", messages.SUCCESS)
            return None
        return TemplateResponse(request, "admin/instances/set_collection.html", {
            **self.admin_site.each_context(request),
            "title": "Set the collection level",
            "form": form,
            "instances": queryset[:100],
            "selected": request.POST.getlist(ACTION_CHECKBOX_NAME),
            "action_checkbox_name": ACTION_CHECKBOX_NAME,
            "opts": self.model._meta,
        })


@admin.register(Installation)
class InstallationAdmin(ProductScopedAdminMixin, CsvExportMixin, admin.ModelAdmin):
    list_display = ("short_install_id", "product", "status", "os", "started", "short_error", "instance_link",
                    "link_reason")
    list_display_links = ("short_install_id",)
    list_filter = ("product", "status", recent_filter("started_at", "started"), "os",
                   starts_with_filter("error", "error"), "link_reason")
    csv_fields = ("install_id", "product__slug", "status", "os", "started_at", "finished_at", "error",
                  "instance__instance_id")
    search_fields = ("install_id__exact",)
    search_help_text = "Exact install id."
    list_select_related = ("product", "instance")
    readonly_fields = ("product", "install_id", "status", "os", "started_at", "finished_at", "last_seen",
                       "error", "ip_hash", "instance", "link_reason", "created_at", "updated_at")
    paginator = NoCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    class Media:
        css = {"all": ["telemetry/admin.css"]}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # installations are built from install-script pings

    @admin.display(description="install id", ordering="install_id")
    def short_install_id(self, installation: Installation) -> str:
        return short_id_html(installation.install_id)

    @admin.display(description="started (UTC)", ordering="started_at")
    def started(self, installation: Installation) -> str:
        return utc_minutes(installation.started_at)

    @admin.display(description="error")
    def short_error(self, installation: Installation) -> str:
        # The full message is on the row's page and in the tooltip; a long one would push columns off.
        text = installation.error
        return format_html('<span title="{}">{}</span>', text, text if len(text) <= 80 else text[:79] + "…")

    @admin.display(description="instance", ordering="instance")
    def instance_link(self, installation: Installation) -> str:
        return instance_link_html(installation.instance)


class ReadOnlyAuditAdmin(admin.ModelAdmin):
    """Audit rows are written by services (ingest, the checker, instances_set_collection, erasure), never by hand."""

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(StatusChange)
class StatusChangeAdmin(ProductScopedAdminMixin, CsvExportMixin, ReadOnlyAuditAdmin):
    product_field = "instance__product"
    csv_fields = ("instance__instance_id", "old", "new", "at")
    list_display = ("instance", "old", "new", "at")
    list_filter = ("new", "old")
    search_fields = ("instance__instance_id__startswith",)
    list_select_related = ("instance",)
    readonly_fields = ("instance", "old", "new", "at")
    paginator = NoCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER


@admin.register(CollectionChange)
class CollectionChangeAdmin(ProductScopedAdminMixin, CsvExportMixin, ReadOnlyAuditAdmin):
    product_field = "instance__product"
    csv_fields = ("instance__instance_id", "old", "new", "changed_by__username", "at", "reason")
    list_display = ("instance", "old", "new", "changed_by", "at", "reason")
    list_filter = ("new",)
    search_fields = ("instance__instance_id__startswith", "reason")
    list_select_related = ("instance", "changed_by")
    readonly_fields = ("instance", "changed_by", "at", "old", "new", "reason")


@admin.register(ErasedInstance)
class ErasedInstanceAdmin(ProductScopedAdminMixin, CsvExportMixin, ReadOnlyAuditAdmin):
    csv_fields = ("instance_hash", "product__slug", "erased_at", "erased_by__username", "reason", "events_deleted")
    list_display = ("instance_hash", "product", "erased_at", "erased_by", "events_deleted")
    list_filter = ("product",)
    search_fields = ("instance_hash__exact",)
    list_select_related = ("product", "erased_by")
    readonly_fields = ("product", "instance_hash", "erased_at", "erased_by", "reason", "events_deleted")
