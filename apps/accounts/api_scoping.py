"""Per-product access in the staff API: a mixin for DRF generic views and viewsets.

    class NoticeViewSet(ProductScopedAPIMixin, StaffViewMixin, viewsets.ModelViewSet):
        product_field = "product"          # or "instance__product", or "pk" on Product itself

Lists, details, exports and writes that go through get_queryset()/get_object() then only reach rows of
the products the user may see: anything else is a 404, as if it did not exist.
"""

from typing import TYPE_CHECKING, Any

from django.db.models import QuerySet

from .access import scope_to_products

# The mixin goes before a DRF generic view in a class's bases; the type checker is told so, to check its
# super() call and self.request against GenericAPIView's.
if TYPE_CHECKING:
    from rest_framework.generics import GenericAPIView

    _ViewBase = GenericAPIView[Any]
else:
    _ViewBase = object


class ProductScopedAPIMixin(_ViewBase):
    product_field = "product"

    def get_queryset(self) -> QuerySet:
        return scope_to_products(super().get_queryset(), self.request.user, self.product_field)
