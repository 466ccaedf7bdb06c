from django.db import transaction
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response

from apps.accounts.api_scoping import ProductScopedAPIMixin
from apps.instances.models import Instance
from apps.instances.services import instance_erase, instance_set_labels, instances_set_collection
from apps.staff_api.filters import InstanceFilter
from apps.staff_api.selectors import instances_for_api
from apps.staff_api.serializers import InstanceSerializer, InstanceUpdateSerializer

from .base import StaffViewMixin


@extend_schema_view(
    list=extend_schema(summary="List instances", description="Newest heartbeat first."),
    retrieve=extend_schema(summary="Show an instance"),
    partial_update=extend_schema(
        summary="Set an instance's collection level or labels",
        description="`collection` writes an audit row (who, when, old, new, reason) when the level changes; "
                    "`labels` replaces the instance's labels.",
        request=InstanceUpdateSerializer, responses={200: InstanceSerializer}),
    destroy=extend_schema(
        summary="Erase an instance",
        description="Deletes the instance, its events, status history and collection audit, unlinks its "
                    "installations and licence, and keeps only a keyed hash of its id so that its later "
                    "pings are dropped. The erasure is recorded and logged.",
        parameters=[OpenApiParameter("reason", OpenApiTypes.STR, description="Why; stored with the erasure.")]),
)
class InstanceViewSet(ProductScopedAPIMixin, StaffViewMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin,
                      viewsets.GenericViewSet):
    """Instances, addressed by database id; `instance_id` is the id the instance itself sends."""

    queryset = instances_for_api()
    serializer_class = InstanceSerializer
    filterset_class = InstanceFilter
    # Database ids only, so `export.csv` (and any other word) can never be taken for an instance.
    lookup_value_converter = "int"
    http_method_names = ["get", "patch", "delete", "head", "options"]

    def partial_update(self, request: Request, pk: str) -> Response:
        instance = self.get_object()
        change = InstanceUpdateSerializer(data=request.data)
        change.is_valid(raise_exception=True)
        with transaction.atomic():
            if "collection" in change.validated_data:
                instances_set_collection(instance_ids=[instance.pk], level=change.validated_data["collection"],
                                         reason=change.validated_data["reason"],
                                         user=request.user if request.user.is_authenticated else None,
                                         now=timezone.now())
            if "labels" in change.validated_data:
                instance_set_labels(instance=instance, labels=change.validated_data["labels"])
        return Response(InstanceSerializer(self.get_object()).data)

    def destroy(self, request: Request, pk: str) -> Response:
        instance = self.get_object()
        reason = request.query_params.get("reason", "")[:2000].replace("\x00", "")
        try:
            instance_erase(instance_pk=instance.pk, now=timezone.now(), reason=reason,
                           user=request.user if request.user.is_authenticated else None)
        except Instance.DoesNotExist as exc:  # erased by someone else meanwhile
            raise NotFound() from exc
        return Response(status=status.HTTP_204_NO_CONTENT)
