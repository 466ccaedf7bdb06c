"""Per-product access in the admin: a ModelAdmin mixin that every product-scoped admin adopts.

    @admin.register(Notice)
    class NoticeAdmin(ProductScopedAdminMixin, admin.ModelAdmin):
        product_field = "product"          # or "instance__product", or "pk" on Product itself

Lists, search, filters, actions, change/delete pages and custom views that ask has_*_permission(obj)
then only reach rows of the products the user may see; product choices in forms and the product
list filter offer only those products.
"""

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.db.models import ForeignKey, QuerySet
from django.db.models.fields.related import RelatedField
from django.forms import ModelChoiceField
from django.http import HttpRequest

from apps.products.models import Product

from .access import allowed_product_ids, can_see_product, product_id_of, scope_to_products


class ScopedProductListFilter(admin.RelatedFieldListFilter):
    """The admin's product filter, offering only the products the user may see."""

    def field_choices(self, field: RelatedField, request: HttpRequest, model_admin: admin.ModelAdmin) -> list:
        allowed = allowed_product_ids(request.user)
        ordering = self.field_admin_ordering(field, request, model_admin)
        limit = None if allowed is None else {"pk__in": sorted(allowed)}
        return list(field.get_choices(include_blank=False, ordering=ordering, limit_choices_to=limit))


# The mixin goes before admin.ModelAdmin in a class's bases; the type checker is told so, to check its
# super() calls against ModelAdmin's.
if TYPE_CHECKING:
    _AdminBase = admin.ModelAdmin[Any]
else:
    _AdminBase = object


class ProductScopedAdminMixin(_AdminBase):
    product_field = "product"

    def get_queryset(self, request: HttpRequest) -> QuerySet:
        return scope_to_products(super().get_queryset(request), request.user, self.product_field)

    def _allows(self, request: HttpRequest, obj: Any) -> bool:
        return obj is None or can_see_product(request.user, product_id_of(obj, self.product_field))

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_view_permission(request, obj) and self._allows(request, obj)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_change_permission(request, obj) and self._allows(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return super().has_delete_permission(request, obj) and self._allows(request, obj)

    def formfield_for_foreignkey(
        self, db_field: ForeignKey, request: HttpRequest, **kwargs: Any
    ) -> ModelChoiceField | None:
        if db_field.related_model is Product:
            kwargs["queryset"] = scope_to_products(Product.objects.order_by("name"), request.user, "pk")
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def get_list_filter(self, request: HttpRequest) -> list:
        filters = super().get_list_filter(request)
        return [(entry, ScopedProductListFilter) if entry == "product" else entry for entry in filters]
