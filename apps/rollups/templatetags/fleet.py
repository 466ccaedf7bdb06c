"""The admin index lists one fleet dashboard per product."""

from django import template

from apps.products.models import Product

register = template.Library()


@register.simple_tag
def fleet_products() -> list[Product]:
    return list(Product.objects.order_by("name").only("slug", "name"))
