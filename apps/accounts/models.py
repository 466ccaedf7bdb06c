from django.conf import settings
from django.contrib.auth.models import Group
from django.db import models

from apps.products.models import Product


class ProductAccess(models.Model):
    """Limits one staff user to some products. Staff without this row, and superusers, see every product;
    with it, only `products` and the products of their teams (TeamProductAccess), possibly none."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="product_access")
    products = models.ManyToManyField(Product, blank=True, related_name="+",
                                      help_text="Products this user sees, besides those of their teams.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "product access"
        verbose_name_plural = "product access"

    def __str__(self) -> str:
        return f"{self.user} limited to chosen products"


class TeamProductAccess(models.Model):
    """Products every product-limited member of a group (a team) may see."""

    group = models.OneToOneField(Group, on_delete=models.CASCADE, related_name="product_access")
    products = models.ManyToManyField(Product, blank=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "team product access"
        verbose_name_plural = "team product access"

    def __str__(self) -> str:
        return f"products of team {self.group}"
