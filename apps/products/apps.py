from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate


def _reinstall_stamp_triggers(*, using: str = "default", **kwargs: Any) -> None:
    # SQLite loses a table's triggers whenever a migration rebuilds the table (PostgreSQL never
    # does, and re-creating them there would lock the products table on every deploy).
    from apps.products.stamp import stamp_triggers_install

    connection = connections[using]
    if connection.vendor == "sqlite" and "products_product" in connection.introspection.table_names():
        stamp_triggers_install(connection)


class ProductsConfig(AppConfig):
    name = "apps.products"
    verbose_name = "Products"

    def ready(self) -> None:
        post_migrate.connect(_reinstall_stamp_triggers, sender=self)
