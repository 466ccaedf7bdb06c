"""Writes on products that go beyond saving a form."""

from datetime import datetime

from apps.products.models import Product, generate_ingest_key


def product_rotate_ingest_key(*, product: Product, now: datetime) -> str:
    """Give the product a new ingest key; the old one stops working at once.

    Clients that still embed the old key get 401 from ingest from then on, so staff rotate only
    after shipping the new key (or when the old one leaked).
    """
    new_key = generate_ingest_key()
    Product.objects.filter(pk=product.pk).update(ingest_key=new_key, updated_at=now)
    product.ingest_key = new_key
    product.updated_at = now
    return new_key
