"""Reads of product rows that the ingest hot path makes."""

from collections.abc import Collection

from django.db import connection

from apps.core import sql
from apps.products.models import Product


def products_change_stamps(*, product_ids: Collection[int]) -> dict[int, int]:
    """The current change stamp of each of these products (a deleted product is absent).

    One indexed statement whose text depends only on how many
    products a group holds (almost always one), so the driver keeps it prepared.
    """
    if not product_ids:
        return {}
    ids = sorted(product_ids)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, change_stamp FROM {sql.table(Product)} "
                       f"WHERE id IN ({', '.join(['%s'] * len(ids))})", ids)
        return dict(cursor.fetchall())
