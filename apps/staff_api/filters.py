"""Query-string filters of the staff API, one FilterSet per resource.

Every bad value (unknown status, unparseable date, NUL bytes) becomes a 400 `{"code": "invalid", ...}`
through django-filter's form validation, never a database error.
"""

from datetime import UTC, datetime
from typing import Any

import django_filters
from django import forms
from django.db.models import Q, QuerySet, Subquery

from apps.alerts.models import Alert, AlertRule
from apps.events.models import Event, EventKind
from apps.instances.models import CollectionLevel, Installation, Instance, InstanceLabel, InstanceStatus
from apps.licenses.models import License
from apps.products.models import Product
from apps.rollups.models import DailyRollup, Report


class UtcIsoDateTimeField(django_filters.fields.IsoDateTimeField):
    """ISO 8601, naive values taken as UTC; a value that has no UTC equivalent (year 1 at +05:00) is
    rejected here instead of overflowing in the database adapter."""

    def to_python(self, value: Any) -> datetime | None:
        parsed = super().to_python(value)
        if parsed is None:
            return None
        try:
            return parsed.astimezone(UTC)
        except (OverflowError, ValueError) as exc:
            raise forms.ValidationError("This date and time is out of range.", code="invalid") from exc


class UtcIsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = UtcIsoDateTimeField


def filter_by_product_slug(queryset: QuerySet, name: str, value: str) -> QuerySet:
    # A scalar subquery rather than a join: PostgreSQL evaluates it once (an InitPlan) and can then use
    # the (product, ...) indexes with `product_id = $0`, which a condition on the joined slug cannot.
    product_id = Subquery(Product.objects.filter(slug=value).values("pk")[:1])
    return queryset.filter(product_id=product_id)


def product_filter() -> django_filters.CharFilter:
    return django_filters.CharFilter(method=filter_by_product_slug, label="Product slug.")


class CountryField(forms.CharField):
    """An ISO 3166-1 alpha-2 code, any case (`de` is `DE`)."""

    def to_python(self, value: Any) -> str:
        code = (super().to_python(value) or "").strip().upper()
        if code and not (len(code) == 2 and code.isascii() and code.isalpha()):
            raise forms.ValidationError("A country is a two-letter ISO 3166-1 code, e.g. DE.", code="invalid")
        return code


class CountryFilter(django_filters.CharFilter):
    field_class = CountryField


class InstanceFilter(django_filters.FilterSet):
    product = product_filter()
    status = django_filters.ChoiceFilter(choices=InstanceStatus.choices)
    version = django_filters.CharFilter(label="Exact version.")
    edition = django_filters.CharFilter(label="Exact edition.")
    collection = django_filters.ChoiceFilter(choices=CollectionLevel.choices)
    country = CountryFilter(label="ISO 3166-1 alpha-2 code of the instance's last known country, e.g. DE.")
    search = django_filters.CharFilter(method="filter_search", label="Instance id (exact or prefix) or exact version.")
    label = django_filters.CharFilter(method="filter_label", label="Instances carrying this label.")
    last_seen_before = UtcIsoDateTimeFilter(field_name="last_seen", lookup_expr="lt",
                                            label="Last heartbeat strictly before this time (ISO 8601, UTC).")
    last_seen_after = UtcIsoDateTimeFilter(field_name="last_seen", lookup_expr="gte",
                                           label="Last heartbeat at or after this time (ISO 8601, UTC).")

    class Meta:
        model = Instance
        fields: list[str] = []

    def filter_search(self, queryset: QuerySet[Instance], name: str, value: str) -> QuerySet[Instance]:
        # A prefix LIKE uses the varchar_pattern_ops index on PostgreSQL; version has its own index.
        return queryset.filter(Q(instance_id__startswith=value) | Q(version=value))

    def filter_label(self, queryset: QuerySet[Instance], name: str, value: str) -> QuerySet[Instance]:
        return queryset.filter(pk__in=InstanceLabel.objects.filter(label=value).values("instance_id"))


class EventFilter(django_filters.FilterSet):
    product = product_filter()
    instance_id = django_filters.CharFilter(field_name="instance__instance_id", label="The instance's own id.")
    name = django_filters.CharFilter(label="Exact event name.")
    kind = django_filters.ChoiceFilter(choices=EventKind.choices)
    since = UtcIsoDateTimeFilter(field_name="timestamp", lookup_expr="gte",
                                 label="Events at or after this time (ISO 8601, UTC).")
    until = UtcIsoDateTimeFilter(field_name="timestamp", lookup_expr="lt",
                                 label="Events strictly before this time (ISO 8601, UTC).")

    class Meta:
        model = Event
        fields: list[str] = []


class InstallationFilter(django_filters.FilterSet):
    product = product_filter()
    status = django_filters.ChoiceFilter(choices=Installation.Status.choices)
    link_reason = django_filters.ChoiceFilter(choices=Installation.Link.choices,
                                              help_text="Why the run is linked to its instance, or why not.")

    class Meta:
        model = Installation
        fields: list[str] = []


class LicenseFilter(django_filters.FilterSet):
    product = product_filter()
    type = django_filters.CharFilter(label="Exact licence type.")

    class Meta:
        model = License
        fields: list[str] = []


class DailyRollupFilter(django_filters.FilterSet):
    product = product_filter()
    date_from = django_filters.DateFilter(field_name="day", lookup_expr="gte", label="First day included.")
    date_to = django_filters.DateFilter(field_name="day", lookup_expr="lte", label="Last day included.")

    class Meta:
        model = DailyRollup
        fields: list[str] = []


class ReportFilter(django_filters.FilterSet):
    product = product_filter()
    kind = django_filters.ChoiceFilter(choices=Report.Kind.choices)

    class Meta:
        model = Report
        fields: list[str] = []


class AlertRuleFilter(django_filters.FilterSet):
    product = product_filter()
    kind = django_filters.ChoiceFilter(choices=AlertRule.Kind.choices)
    enabled = django_filters.BooleanFilter()

    class Meta:
        model = AlertRule
        fields: list[str] = []


class AlertFilter(django_filters.FilterSet):
    product = product_filter()
    rule = django_filters.NumberFilter(field_name="rule_id", min_value=1, max_value=2**63 - 1, label="Rule id.")
    state = django_filters.ChoiceFilter(choices=Alert.State.choices)

    class Meta:
        model = Alert
        fields: list[str] = []
