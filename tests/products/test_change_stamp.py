"""The database moves a product's change stamp on every write to the product, its releases or its notices."""

from collections.abc import Callable

import pytest
from django.db import connection
from django.utils import timezone

from apps.products.apps import _reinstall_stamp_triggers
from apps.products.models import Notice, Product, Release
from apps.products.services import product_rotate_ingest_key
from apps.products.stamp import stamp_triggers_install


def stamp(product: Product) -> int:
    return Product.objects.values_list("change_stamp", flat=True).get(pk=product.pk)


@pytest.mark.django_db
def test_every_write_moves_the_stamp_forward(product: Product, make_product: Callable[..., Product]) -> None:
    other = make_product("other")
    seen = [stamp(product)]

    def moved() -> bool:
        seen.append(stamp(product))
        return seen[-1] > seen[-2]

    Product.objects.filter(pk=product.pk).update(latest_version="2.0")
    assert moved()
    product.refresh_from_db()
    product.heartbeat_events = ["alive"]
    product.save()
    assert moved()
    release = Release.objects.create(product=product, version="2.1")
    assert moved()
    Release.objects.filter(pk=release.pk).update(notes_url="https://example.com/2.1")
    assert moved()
    release.delete()
    assert moved()
    notice = Notice.objects.create(product=product, title="Upgrade")
    assert moved()
    Notice.objects.filter(pk=notice.pk).update(active=False)
    assert moved()
    Notice.objects.filter(pk=notice.pk).update(product=other)  # moved away: both products changed
    assert moved()
    assert stamp(other) > 0
    product_rotate_ingest_key(product=product, now=timezone.now())
    assert moved()
    Notice.objects.all().delete()
    assert stamp(other) > 1


@pytest.mark.django_db
def test_a_save_that_writes_back_an_old_stamp_still_moves_it(product: Product) -> None:
    loaded = Product.objects.get(pk=product.pk)  # a form opened before a release was added
    Release.objects.create(product=product, version="1.0")
    after_release = stamp(product)
    loaded.name = "Renamed"
    loaded.save()
    assert stamp(product) > after_release


@pytest.mark.django_db
def test_reinstalling_the_triggers_is_harmless(product: Product) -> None:
    stamp_triggers_install(connection)
    _reinstall_stamp_triggers(using=connection.alias)
    _reinstall_stamp_triggers(using=connection.alias)
    before = stamp(product)
    Release.objects.create(product=product, version="1.0")
    assert stamp(product) == before + 1  # one trigger per table, not two


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite rebuilds tables; PostgreSQL keeps triggers")
def test_triggers_come_back_after_sqlite_rebuilds_the_table(product: Product) -> None:
    with connection.cursor() as cursor:
        cursor.execute("DROP TRIGGER products_release_stamp_insert")  # what a table rebuild does
    _reinstall_stamp_triggers(using=connection.alias)  # run by every `migrate`
    before = stamp(product)
    Release.objects.create(product=product, version="1.0")
    assert stamp(product) == before + 1
