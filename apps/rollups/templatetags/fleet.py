"""The admin index lists one fleet dashboard per product."""

from typing import Any

from django import template

from apps.accounts.access import scope_to_products
from apps.products.models import Product

register = template.Library()


@register.simple_tag(takes_context=True)
def fleet_products(context: dict[str, Any]) -> list[Product]:
    products = scope_to_products(Product.objects.order_by("name"), context["request"].user, "pk")
    return list(products.only("slug", "name"))
