from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from apps.core.admin_utils import NoCountPaginator

from .models import (
    CollectionChange,
    CollectionLevel,
    ErasedInstance,
    Installation,
    Instance,
    StatusChange,
)
from .services import instances_set_collection


class CollectionForm(forms.Form):
    level = forms.ChoiceField(choices=CollectionLevel.choices)
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=True)


class StatusChangeInline(admin.TabularInline):
    model = StatusChange
    extra = 0
    can_delete = False
    readonly_fields = ("old", "new", "at")
    ordering = ("-at",)
    max_num = 0


class CollectionChangeInline(admin.TabularInline):
    model = CollectionChange
    extra = 0
    can_delete = False
    readonly_fields = ("at", "old", "new", "reason", "changed_by")
    ordering = ("-at",)
    max_num = 0


@admin.register(Instance)
class InstanceAdmin(admin.ModelAdmin):
    list_display = ("instance_id", "product", "status", "version", "edition", "os", "collection",
                    "last_seen", "first_seen")
    list_filter = ("product", "status", "collection", "edition", "os")
    search_fields = ("=instance_id", "version")
    list_select_related = ("product",)
    readonly_fields = ("product", "instance_id", "first_seen", "last_seen", "status", "status_changed_at",
                       "collection", "ip_hash", "license", "heartbeat_count", "dropped_count", "metrics",
                       "created_at", "updated_at")
    fields = ("product", "instance_id", "status", "status_changed_at", "version", "edition", "os", "arch",
              "context", "collection", "license", "first_seen", "last_seen", "heartbeat_count",
              "dropped_count", "ip_hash", "metrics", "created_at", "updated_at")
    paginator = NoCountPaginator
    show_full_result_count = False
    inlines = [StatusChangeInline, CollectionChangeInline]
    actions = ["set_collection_level"]

    @admin.action(description="Set the collection level of the selected instances…")
    def set_collection_level(self, request: HttpRequest, queryset: QuerySet[Instance]) -> HttpResponse | None:
        form = CollectionForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            changed = instances_set_collection(
                instance_ids=queryset.values_list("pk", flat=True), level=form.cleaned_data["level"],
                reason=form.cleaned_data["reason"], user=request.user, now=timezone.now())
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
class InstallationAdmin(admin.ModelAdmin):
    list_display = ("install_id", "product", "status", "os", "started_at", "finished_at", "instance")
    list_filter = ("product", "status", "os")
    search_fields = ("=install_id",)
    list_select_related = ("product", "instance")
    readonly_fields = ("product", "install_id", "status", "os", "started_at", "finished_at", "last_seen",
                       "error", "ip_hash", "instance", "created_at", "updated_at")
    paginator = NoCountPaginator
    show_full_result_count = False


@admin.register(StatusChange)
class StatusChangeAdmin(admin.ModelAdmin):
    list_display = ("instance", "old", "new", "at")
    list_filter = ("new", "old")
    search_fields = ("=instance__instance_id",)
    list_select_related = ("instance",)
    readonly_fields = ("instance", "old", "new", "at")
    paginator = NoCountPaginator
    show_full_result_count = False


@admin.register(CollectionChange)
class CollectionChangeAdmin(admin.ModelAdmin):
    list_display = ("instance", "old", "new", "changed_by", "at", "reason")
    list_filter = ("new",)
    search_fields = ("=instance__instance_id", "reason")
    list_select_related = ("instance", "changed_by")
    readonly_fields = ("instance", "changed_by", "at", "old", "new", "reason")


@admin.register(ErasedInstance)
class ErasedInstanceAdmin(admin.ModelAdmin):
    list_display = ("instance_hash", "product", "erased_at", "erased_by", "events_deleted")
    list_filter = ("product",)
    search_fields = ("=instance_hash",)
    list_select_related = ("product", "erased_by")
    readonly_fields = ("product", "instance_hash", "erased_at", "erased_by", "reason", "events_deleted")
