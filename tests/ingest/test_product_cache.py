"""The product behind a key is cached per process, briefly, and never in Redis."""

import pytest
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from apps.ingest.product_cache import clear_product_cache, product_for_key
from apps.products.models import Notice, Product


@pytest.fixture(autouse=True)
def empty_cache():
    clear_product_cache()
    yield
    clear_product_cache()


@pytest.mark.django_db
@override_settings(TELEMETRY_PRODUCT_CACHE_SECONDS=60)
def test_cached_lookups_cost_no_query(appsmith: Product) -> None:
    Notice.objects.create(product=appsmith, title="Hello")
    first = product_for_key(appsmith.ingest_key)
    with CaptureQueriesContext(connection) as queries:
        again = product_for_key(appsmith.ingest_key)
        unknown = product_for_key("tk_unknown")
        unknown_again = product_for_key("tk_unknown")
    assert again is not None and again is first and [n.title for n in again.notices] == ["Hello"]
    assert unknown is None and unknown_again is None
    assert len(queries) == 1  # only the first look-up of the unknown key


@pytest.mark.django_db
@override_settings(TELEMETRY_PRODUCT_CACHE_SECONDS=0)
def test_no_cache_sees_changes_at_once(appsmith: Product) -> None:
    before = product_for_key(appsmith.ingest_key)
    assert before is not None and before.latest_version == "v1.9.56"
    Product.objects.filter(pk=appsmith.pk).update(latest_version="v2.0.0")
    after = product_for_key(appsmith.ingest_key)
    assert after is not None and after.latest_version == "v2.0.0"
    assert product_for_key("x" * 500) is None
