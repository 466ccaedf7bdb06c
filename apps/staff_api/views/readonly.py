"""Read-only resources: events, installations, licences, daily rollups, reports."""

from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.api_scoping import ProductScopedAPIMixin
from apps.staff_api.filters import DailyRollupFilter, EventFilter, InstallationFilter, LicenseFilter, ReportFilter
from apps.staff_api.pagination import EventCursorPagination
from apps.staff_api.selectors import (
    breakdowns_by_day,
    daily_rollups_for_api,
    events_for_api,
    installations_for_api,
    licenses_for_api,
    reports_for_api,
)
from apps.staff_api.serializers import (
    DailyRollupSerializer,
    EventSerializer,
    InstallationSerializer,
    LicenseSerializer,
    ReportSerializer,
)

from .base import StaffViewMixin


class _ReadOnlyViewSet(ProductScopedAPIMixin, StaffViewMixin, viewsets.ReadOnlyModelViewSet):
    lookup_value_converter = "int"


@extend_schema_view(
    list=extend_schema(summary="List events", description="Newest first. Paginated by cursor; `count` is exact "
                                                          "up to 10,000 matches and null beyond."),
    retrieve=extend_schema(summary="Show an event"))
class EventViewSet(_ReadOnlyViewSet):
    """Stored pings and usage events; `timestamp` is the client time corrected for clock skew."""

    queryset = events_for_api()
    serializer_class = EventSerializer
    filterset_class = EventFilter
    pagination_class = EventCursorPagination


@extend_schema_view(list=extend_schema(summary="List installations", description="Most recent first."),
                    retrieve=extend_schema(summary="Show an installation"))
class InstallationViewSet(_ReadOnlyViewSet):
    """Install-script runs through the funnel started → succeeded / failed / support."""

    queryset = installations_for_api()
    serializer_class = InstallationSerializer
    filterset_class = InstallationFilter


@extend_schema_view(list=extend_schema(summary="List licences", description="With the instances reporting each."),
                    retrieve=extend_schema(summary="Show a licence"))
class LicenseViewSet(_ReadOnlyViewSet):
    """Licences seen in pings and the instances reporting them."""

    queryset = licenses_for_api()
    serializer_class = LicenseSerializer
    filterset_class = LicenseFilter


@extend_schema_view(list=extend_schema(
    summary="List daily rollups",
    description="One row per product and UTC day, newest first, with that day's breakdowns of active "
                "instances by version, edition, OS, licence type and country, of events by name, and of "
                "opt-outs (`opt_outs`: instances whose telemetry is off) by version."))
class DailyRollupViewSet(ProductScopedAPIMixin, StaffViewMixin, mixins.ListModelMixin, viewsets.GenericViewSet):
    """Daily fleet figures per product, recomputed by the rollup job."""

    queryset = daily_rollups_for_api()
    serializer_class = DailyRollupSerializer
    filterset_class = DailyRollupFilter

    def list(self, request: Request) -> Response:
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        assert page is not None, "every staff list is paginated (REST_FRAMEWORK settings)"
        context = {**self.get_serializer_context(), "breakdowns": breakdowns_by_day(page)}
        return self.get_paginated_response(DailyRollupSerializer(page, many=True, context=context).data)


@extend_schema_view(list=extend_schema(summary="List reports", description="Newest period first."),
                    retrieve=extend_schema(summary="Show a report"))
class ReportViewSet(_ReadOnlyViewSet):
    """Fleet reports built from the daily rollups."""

    queryset = reports_for_api()
    serializer_class = ReportSerializer
    filterset_class = ReportFilter
