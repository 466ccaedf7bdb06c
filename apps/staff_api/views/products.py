from django.db import IntegrityError, transaction
from django.utils import timezone
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from apps.accounts.access import is_product_limited
from apps.accounts.api_scoping import ProductScopedAPIMixin
from apps.core.exceptions import ApiError
from apps.products.services import product_rotate_ingest_key
from apps.staff_api.selectors import products_for_api
from apps.staff_api.serializers import ProductCreateSerializer, ProductSerializer

from .base import StaffViewMixin


@extend_schema_view(
    list=extend_schema(summary="List products"),
    create=extend_schema(summary="Create a product", description="Answers with the product's new `ingest_key`.",
                         request=ProductCreateSerializer, responses={201: ProductSerializer}),
    retrieve=extend_schema(summary="Show a product"),
    partial_update=extend_schema(summary="Change a product's settings"),
)
class ProductViewSet(ProductScopedAPIMixin, StaffViewMixin, mixins.ListModelMixin, mixins.CreateModelMixin,
                     mixins.RetrieveModelMixin, mixins.UpdateModelMixin, viewsets.GenericViewSet):
    """Products, addressed by slug. Durations are in seconds; products are never deleted through the API."""

    lookup_field = "slug"
    product_field = "pk"
    # A slug's own alphabet: anything else is a 404 before it reaches the database.
    lookup_value_converter = "slug"
    http_method_names = ["get", "post", "patch", "head", "options"]
    queryset = products_for_api()
    filter_backends: list = []

    def get_serializer_class(self) -> type[BaseSerializer]:
        return ProductCreateSerializer if self.action == "create" else ProductSerializer

    def create(self, request: Request, *args: object, **kwargs: object) -> Response:
        if is_product_limited(request.user):
            # They could never see it: creating products is for staff who see them all.
            raise PermissionDenied("Staff limited to some products cannot create products.")
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer: BaseSerializer) -> None:
        try:
            with transaction.atomic():
                serializer.save()
        except IntegrityError as exc:
            # Two creations of one slug at once: the unique constraint decides, the loser learns why.
            raise ApiError(code="conflict", message="A product with this slug already exists.",
                           status_code=status.HTTP_409_CONFLICT) from exc

    @extend_schema(summary="Rotate a product's ingest key", request=None, responses={200: ProductSerializer},
                   description="The old key stops working at once; the answer carries the new `ingest_key`.")
    @action(detail=True, methods=["post"], url_path="rotate-key")
    def rotate_key(self, request: Request, slug: str) -> Response:
        product = self.get_object()
        product_rotate_ingest_key(product=product, now=timezone.now())
        return Response(ProductSerializer(product, context=self.get_serializer_context()).data)
