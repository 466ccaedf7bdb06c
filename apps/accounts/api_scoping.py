"""Per-product access in the staff API: a mixin for DRF generic views and viewsets.

    class NoticeViewSet(ProductScopedAPIMixin, StaffViewMixin, viewsets.ModelViewSet):
        product_field = "product"          # or "instance__product", or "pk" on Product itself

Lists, details, exports and writes that go through get_queryset()/get_object() then only reach rows of
the products the user may see: anything else is a 404, as if it did not exist.
"""

from django.db.models import QuerySet

from .access import scope_to_products


class ProductScopedAPIMixin:
    product_field = "product"

    def get_queryset(self) -> QuerySet:
        return scope_to_products(super().get_queryset(), self.request.user, self.product_field)  # type: ignore[misc]
