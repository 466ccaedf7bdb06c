from datetime import UTC, datetime

import pytest

from apps.products.models import Product
from apps.products.services import product_rotate_ingest_key

NOW = datetime(2024, 1, 9, tzinfo=UTC)


@pytest.mark.django_db
def test_rotating_the_key_replaces_it_in_the_database(product: Product, make_product) -> None:
    other = make_product("hasura")
    old = product.ingest_key
    new = product_rotate_ingest_key(product=product, now=NOW)
    assert new != old and new.startswith("tk_") and product.ingest_key == new
    stored = Product.objects.get(pk=product.pk)
    assert (stored.ingest_key, stored.updated_at) == (new, NOW)
    assert not Product.objects.filter(ingest_key=old).exists()
    assert Product.objects.get(pk=other.pk).ingest_key == other.ingest_key


@pytest.mark.django_db
def test_admin_action_rotates_through_the_service(client, staff_user, product) -> None:
    old_key = product.ingest_key
    client.force_login(staff_user)
    response = client.post("/admin/products/product/", {"action": "rotate_ingest_key",
                                                        "_selected_action": [str(product.pk)]})
    assert response.status_code == 302
    product.refresh_from_db()
    assert product.ingest_key != old_key and product.ingest_key.startswith("tk_")
