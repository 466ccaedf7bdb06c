from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.access import scope_to_products
from apps.accounts.api_scoping import ProductScopedAPIMixin
from apps.alerts.models import Alert, AlertChannel, AlertRule
from apps.alerts.selectors import alerts_for_api
from apps.alerts.services import alert_acknowledge, alert_mute, alert_unmute, channel_send_test
from apps.staff_api.filters import AlertFilter, AlertRuleFilter
from apps.staff_api.serializers import (
    AlertChannelSerializer,
    AlertMuteSerializer,
    AlertRuleSerializer,
    AlertSerializer,
    ChannelTestResultSerializer,
)

from .base import StaffViewMixin

_WRITE_METHODS = ["get", "post", "patch", "delete", "head", "options"]


@extend_schema_view(
    list=extend_schema(summary="List alert channels"),
    create=extend_schema(summary="Create an alert channel",
                         description="`kind` is `email`, `webhook` or `slack`. A webhook created without a "
                                     "`secret` gets one, shown in the answer."),
    retrieve=extend_schema(summary="Show an alert channel"),
    partial_update=extend_schema(summary="Change an alert channel"),
    destroy=extend_schema(summary="Delete an alert channel"),
)
class AlertChannelViewSet(StaffViewMixin, mixins.ListModelMixin, mixins.CreateModelMixin,
                          mixins.RetrieveModelMixin, mixins.UpdateModelMixin, mixins.DestroyModelMixin,
                          viewsets.GenericViewSet):
    queryset = AlertChannel.objects.order_by("name", "id")
    serializer_class = AlertChannelSerializer
    lookup_value_converter = "int"
    http_method_names = _WRITE_METHODS
    filter_backends: list = []

    @extend_schema(summary="Send a test notification", request=None, responses={200: ChannelTestResultSerializer},
                   description="Sends one test notification now (one attempt, recorded) and answers what "
                               "the receiver said.")
    @action(detail=True, methods=["post"])
    def test(self, request: Request, pk: str) -> Response:
        notification, result = channel_send_test(channel=self.get_object(), now=timezone.now())
        return Response(ChannelTestResultSerializer({
            "delivered": result.delivered, "status_code": result.status_code, "error": result.error,
            "duration_ms": result.duration_ms, "notification": notification.pk}).data)


@extend_schema_view(
    list=extend_schema(summary="List alert rules"),
    create=extend_schema(summary="Create an alert rule",
                         description="Kinds: `instance_status` (params.selector), `metric` (params.metric, "
                                     "condition, threshold, days) and `install_success_rate` (params.threshold, "
                                     "window_hours, min_started)."),
    retrieve=extend_schema(summary="Show an alert rule"),
    partial_update=extend_schema(summary="Change an alert rule"),
    destroy=extend_schema(summary="Delete an alert rule", description="Its alerts go with it."),
)
class AlertRuleViewSet(ProductScopedAPIMixin, StaffViewMixin, mixins.ListModelMixin, mixins.CreateModelMixin,
                       mixins.RetrieveModelMixin, mixins.UpdateModelMixin, mixins.DestroyModelMixin,
                       viewsets.GenericViewSet):
    queryset = AlertRule.objects.select_related("product").prefetch_related("channels").order_by("product", "name",
                                                                                                 "id")
    serializer_class = AlertRuleSerializer
    filterset_class = AlertRuleFilter
    lookup_value_converter = "int"
    http_method_names = _WRITE_METHODS


@extend_schema_view(
    list=extend_schema(summary="List alerts", description="Fired and resolved alerts, newest first, each with "
                                                          "its notifications."),
    retrieve=extend_schema(summary="Show an alert"),
)
class AlertViewSet(ProductScopedAPIMixin, StaffViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                   viewsets.GenericViewSet):
    serializer_class = AlertSerializer
    filterset_class = AlertFilter
    lookup_value_converter = "int"
    http_method_names = ["get", "post", "head", "options"]

    def get_queryset(self) -> QuerySet[Alert]:
        return scope_to_products(alerts_for_api(), self.request.user)

    def _answer(self, alert: Alert) -> Response:
        return Response(AlertSerializer(alerts_for_api().get(pk=alert.pk)).data)

    @extend_schema(summary="Acknowledge an alert", request=None, responses={200: AlertSerializer},
                   description="No more updates about it; its resolved message is still sent.")
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str) -> Response:
        return self._answer(alert_acknowledge(alert=self.get_object(), user=request.user, now=timezone.now()))

    @extend_schema(summary="Mute an alert for a time", request=AlertMuteSerializer, responses={200: AlertSerializer},
                   description="No notification at all about it until the time is over.")
    @action(detail=True, methods=["post"])
    def mute(self, request: Request, pk: str) -> Response:
        body = AlertMuteSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._answer(alert_mute(alert=self.get_object(), minutes=body.validated_data["minutes"],
                                       now=timezone.now()))

    @extend_schema(summary="Unmute an alert", request=None, responses={200: AlertSerializer})
    @action(detail=True, methods=["post"])
    def unmute(self, request: Request, pk: str) -> Response:
        return self._answer(alert_unmute(alert=self.get_object()))
