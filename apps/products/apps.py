from typing import Any

from django.apps import AppConfig
from django.db import connections
from django.db.models.signals import post_migrate


def _reinstall_stamp_triggers(*, using: str = "default", **kwargs: Any) -> None:
    # SQLite loses a table's triggers whenever a migration rebuilds the table.
    from apps.products.stamp import stamp_triggers_install

    connection = connections[using]
    if "products_product" in connection.introspection.table_names():  # not after `migrate products zero`
        stamp_triggers_install(connection)


class ProductsConfig(AppConfig):
    name = "apps.products"
    verbose_name = "Products"

    def ready(self) -> None:
        post_migrate.connect(_reinstall_stamp_triggers, sender=self)
