from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from apps.accounts.admin_scoping import ProductScopedAdminMixin
from apps.core.admin_export import CsvExportMixin
from apps.instances.models import Instance

from .models import License

INSTANCES_SHOWN = 20


@admin.register(License)
class LicenseAdmin(ProductScopedAdminMixin, CsvExportMixin, admin.ModelAdmin):
    csv_fields = ("license_id", "type", "product__slug", "first_seen", "last_seen")
    list_display = ("license_id", "type", "product", "first_seen", "last_seen")
    list_filter = ("product", "type")
    search_fields = ("license_id__exact",)
    search_help_text = "Exact license id."
    list_select_related = ("product",)
    readonly_fields = ("product", "license_id", "type", "first_seen", "last_seen", "instances_using",
                       "created_at", "updated_at")
    date_hierarchy = "last_seen"
    show_facets = admin.ShowFacets.NEVER

    def has_add_permission(self, request: object) -> bool:
        return False  # licenses are recorded from pings

    @admin.display(description="Instances reporting it")
    def instances_using(self, license: License) -> str:
        """The most recently seen instances on this licence (bounded), and a link to all of them."""
        instances = list(Instance.objects.filter(license=license).order_by("-last_seen")
                         .values_list("pk", "instance_id", "status")[:INSTANCES_SHOWN])
        if not instances:
            return "none"
        links = format_html_join(", ", '<a href="{}">{}</a> ({})', (
            (reverse("admin:instances_instance_change", args=[pk]), instance_id, status)
            for pk, instance_id, status in instances))
        everyone = reverse("admin:instances_instance_changelist") + f"?license__id__exact={license.pk}"
        return format_html('{} · <a href="{}">all instances on this license</a>', links, everyone)
