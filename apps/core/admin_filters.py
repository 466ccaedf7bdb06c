"""Admin list filters the dashboards link to (drill-down): each reads one GET parameter and turns it
into an indexed filter; none runs a query to build its choices beyond the rollups' small tables."""

import re
from typing import Any

from django.contrib.admin import SimpleListFilter
from django.db.models import Q, QuerySet
from django.http import HttpRequest

BLANK = "(none)"  # the value a dashboard slice of blank/unknown values links with
_VERSION_PREFIX = re.compile(r"^[vV]?(\d+(?:\.[0-9A-Za-z-]+)*?)(?:\.[xX*])?\.?$")


def version_prefix(text: str) -> str | None:
    """`1.9`, `v1.9`, `1.9.x`, `V1.9.*` and `1.9.56` → the bare prefix (`1.9`, `1.9.56`); None when the
    text is not a version at all."""
    match = _VERSION_PREFIX.match(text.strip())
    return match.group(1) if match else None


def version_prefix_q(text: str, field_name: str = "version") -> Q | None:
    """Versions equal to the prefix or under it, written with or without a leading "v"
    (`1.9` finds `v1.9.56` and `1.9.0`, never `1.90`)."""
    prefix = version_prefix(text)
    if prefix is None:
        return None
    q = Q()
    for head in (prefix, f"v{prefix}"):
        q |= Q(**{field_name: head}) | Q(**{f"{field_name}__startswith": f"{head}."})
    return q


class VersionPrefixFilter(SimpleListFilter):
    """`?version=1.9`: every instance on 1.9.*, Appsmith's `v` or not. Its choices are the major.minor
    lines; any prefix typed in the URL works too."""

    title = "version"
    parameter_name = "version"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        from apps.core.versions import Version
        from apps.rollups.admin import recent_breakdown_keys

        lines = sorted({".".join(prefix.split(".")[:2]) for key in recent_breakdown_keys(request, "version")
                        if (prefix := version_prefix(key))}, key=Version, reverse=True)
        choices = [(line, f"{line}.x") for line in lines]
        value = self.value()
        if value and value not in lines:
            choices.insert(0, (value, value))  # a prefix from a link stays visible as chosen
        return choices

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        value = self.value()
        if not value:
            return queryset
        q = version_prefix_q(value)
        return queryset.filter(q) if q is not None else queryset.none()


class LicenseTypeFilter(SimpleListFilter):
    """`?license_type=ENTERPRISE`; `(none)`: no license reported, or one without a type."""

    title = "license type"
    parameter_name = "license_type"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        from apps.rollups.admin import recent_breakdown_keys

        choices = [(key or BLANK, key or "none or unknown")
                   for key in recent_breakdown_keys(request, "license_type", keep_blank=True)]
        value = self.value()
        if value and value not in dict(choices):
            choices.insert(0, (value, value))  # the admin ignores a filter without choices
        return choices

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if not self.value():
            return queryset
        if self.value() == BLANK:
            return queryset.filter(Q(license__isnull=True) | Q(license__type=""))
        return queryset.filter(license__type=self.value())


def starts_with_filter(field_name: str, title: str) -> type:
    """`?<field>=text`: rows whose field starts with the text (how the dashboard groups install errors)."""

    class StartsWithFilter(SimpleListFilter):
        parameter_name = field_name

        def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
            value = self.value()
            return [(value, value[:60])] if value else []

        def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
            if not self.value():
                return queryset
            if self.value() == BLANK:
                return queryset.filter(**{field_name: ""})
            return queryset.filter(**{f"{field_name}__startswith": self.value()})

    StartsWithFilter.title = title
    StartsWithFilter.__name__ = f"{field_name.title()}StartsWithFilter"
    return StartsWithFilter
