"""Which products a staff user may see, and querysets cut down to them.

The rule: superusers and staff without a ProductAccess row see every product; a user with one sees
the products chosen on it and on the TeamProductAccess of each of their groups (possibly none).
Worked out once per request and kept on the user object: no query for superusers, one for
unrestricted staff, two for limited staff.
"""

from typing import Any, TypeVar

from django.db.models import Model, QuerySet

from .models import ProductAccess, TeamProductAccess

M = TypeVar("M", bound=Model)
_CACHE_ATTRIBUTE = "_allowed_product_ids"


def allowed_product_ids(user: Any) -> frozenset[int] | None:
    """The ids of the products `user` may see, or None for every product."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    if user.is_superuser:
        return None
    if hasattr(user, _CACHE_ATTRIBUTE):
        cached: frozenset[int] | None = getattr(user, _CACHE_ATTRIBUTE)
        return cached
    # One row per chosen product, or one NULL row for a limit with none chosen; no row: not limited.
    own = list(ProductAccess.objects.filter(user_id=user.pk).values_list("products", flat=True))
    allowed: frozenset[int] | None = None
    if own:
        teams = TeamProductAccess.objects.filter(group__user=user.pk).values_list("products", flat=True)
        allowed = frozenset(pk for pk in (*own, *teams) if pk is not None)
    setattr(user, _CACHE_ATTRIBUTE, allowed)
    return allowed


def is_product_limited(user: Any) -> bool:
    return allowed_product_ids(user) is not None


def can_see_product(user: Any, product_id: int | None) -> bool:
    allowed = allowed_product_ids(user)
    return allowed is None or product_id in allowed


def scope_to_products(queryset: QuerySet[M], user: Any, product_field: str = "product") -> QuerySet[M]:
    """`queryset` without the rows of products `user` may not see. `product_field` is the lookup path
    from the queryset's model to its product's id (`product`, `instance__product`, or `pk` for
    products themselves)."""
    allowed = allowed_product_ids(user)
    if allowed is None:
        return queryset
    return queryset.filter(**{f"{product_field}__in": sorted(allowed)})


def product_id_of(obj: Model, product_field: str) -> int | None:
    """The product id of one object, following `product_field` (as in scope_to_products)."""
    if product_field == "pk":
        return obj.pk
    *path, last = product_field.split("__")
    related: Model | None = obj
    for step in path:
        related = getattr(related, step, None)
        if related is None:
            return None
    return getattr(related, f"{last}_id", None)
