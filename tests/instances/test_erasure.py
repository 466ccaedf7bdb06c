from datetime import UTC, datetime

import pytest

from apps.core.privacy import keyed_hash
from apps.events.models import Event
from apps.instances.models import CollectionChange, ErasedInstance, Installation, Instance, StatusChange
from apps.instances.services import instance_erase
from apps.licenses.models import License
from apps.products.models import Product

NOW = datetime(2024, 1, 9, tzinfo=UTC)


def _instance(product: Product, instance_id: str, **fields) -> Instance:
    return Instance.objects.create(product=product, instance_id=instance_id, first_seen=NOW, last_seen=NOW, **fields)


def _event(instance: Instance, message_id: str) -> Event:
    return Event.objects.create(product=instance.product, instance=instance, name="e", message_id=message_id,
                                timestamp=NOW, received_at=NOW)


@pytest.mark.django_db
def test_erase_deletes_everything_about_one_instance_only(product: Product, staff_user) -> None:
    licence = License.objects.create(product=product, license_id="lic", first_seen=NOW, last_seen=NOW)
    doomed, kept = _instance(product, "doomed", license=licence), _instance(product, "kept", license=licence)
    for n in range(4):
        _event(doomed, f"d{n}")
    _event(kept, "k0")
    StatusChange.objects.create(instance=doomed, old="new", new="active", at=NOW)
    StatusChange.objects.create(instance=kept, old="new", new="active", at=NOW)
    CollectionChange.objects.create(instance=doomed, at=NOW, old="full", new="off")
    install = Installation.objects.create(product=product, install_id="x", last_seen=NOW, instance=doomed)

    erased = instance_erase(instance_pk=doomed.pk, user=staff_user, now=NOW, reason="asked")

    assert list(Instance.objects.all()) == [kept]
    assert list(Event.objects.values_list("message_id", flat=True)) == ["k0"]
    assert list(StatusChange.objects.values_list("instance_id", flat=True)) == [kept.pk]
    assert not CollectionChange.objects.exists()
    install.refresh_from_db()
    assert install.instance is None
    assert License.objects.get().instances.get() == kept
    assert (erased.product, erased.instance_hash, erased.erased_at, erased.erased_by, erased.events_deleted,
            erased.reason) == (product, keyed_hash("doomed"), NOW, staff_user, 4, "asked")
    assert "doomed" not in erased.instance_hash


@pytest.mark.django_db
def test_erasing_the_same_id_again_updates_the_one_record(product: Product) -> None:
    first = _instance(product, "again")
    _event(first, "a")
    instance_erase(instance_pk=first.pk, user=None, now=NOW)
    # Came back (a ping arrived before ingest knew to drop it), erased once more.
    second = _instance(product, "again")
    _event(second, "b")
    _event(second, "c")
    later = datetime(2024, 2, 1, tzinfo=UTC)
    erased = instance_erase(instance_pk=second.pk, user=None, now=later)
    assert ErasedInstance.objects.get() == erased
    assert (erased.events_deleted, erased.erased_at, erased.erased_by) == (3, later, None)


@pytest.mark.django_db
def test_erasing_a_missing_instance_raises_and_records_nothing(product: Product) -> None:
    with pytest.raises(Instance.DoesNotExist):
        instance_erase(instance_pk=424242, user=None, now=NOW)
    assert not ErasedInstance.objects.exists()


@pytest.mark.django_db
def test_the_same_id_under_two_products_is_two_rows(product: Product, make_product) -> None:
    other = make_product("hasura")
    instance_erase(instance_pk=_instance(product, "shared-id").pk, user=None, now=NOW)
    instance_erase(instance_pk=_instance(other, "shared-id").pk, user=None, now=NOW)
    assert set(ErasedInstance.objects.values_list("product__slug", "instance_hash")) == {
        ("appsmith", keyed_hash("shared-id")), ("hasura", keyed_hash("shared-id"))}
