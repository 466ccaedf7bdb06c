"""Shared fixtures. The suite runs on SQLite by default and on PostgreSQL/Redis when
DATABASE_URL / REDIS_URL are set (CI runs both)."""

from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from apps.products.models import Product


@pytest.fixture
def make_product(db: None) -> Callable[..., Product]:
    def make(slug: str = "appsmith", **fields: Any) -> Product:
        fields.setdefault("name", slug.title())
        return Product.objects.create(slug=slug, **fields)

    return make


@pytest.fixture
def product(make_product: Callable[..., Product]) -> Product:
    return make_product("appsmith", name="Appsmith", heartbeat_interval=2 * 3600)


@pytest.fixture
def staff_user(db: None) -> Any:
    return get_user_model().objects.create_user(username="staff", password="staff-pass-123", is_staff=True,
                                                is_superuser=True)
