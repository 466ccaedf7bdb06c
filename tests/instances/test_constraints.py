"""The registry's invariants hold in the database itself, not just in Python."""

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, transaction

from apps.events.models import EventMessageId
from apps.instances.models import Installation, Instance, StatusChange
from apps.licenses.models import License
from apps.products.models import Product

NOW = datetime(2024, 1, 9, 7, 10, tzinfo=UTC)


def _instance(product: Product, instance_id: str = "609ce8fb4092701c69df9846") -> Instance:
    return Instance.objects.create(product=product, instance_id=instance_id, first_seen=NOW, last_seen=NOW)


@pytest.mark.django_db
def test_instance_id_is_unique_per_product(product: Product, make_product) -> None:
    _instance(product)
    with pytest.raises(IntegrityError), transaction.atomic():
        _instance(product)
    # The same id under another product is another instance.
    _instance(make_product("hasura"))
    assert Instance.objects.count() == 2


@pytest.mark.django_db
def test_message_id_is_unique_per_product(product: Product, make_product) -> None:
    """The dedupe key lives in its own table (the events table may be partitioned by time)."""
    fields = {"message_id": "ajs-9176c8f5ebc607524746206ea6aa7502", "received_at": NOW}
    EventMessageId.objects.create(product=product, **fields)
    with pytest.raises(IntegrityError), transaction.atomic():
        EventMessageId.objects.create(product=product, **fields)
    EventMessageId.objects.create(product=make_product("wasp"), **fields)
    assert EventMessageId.objects.count() == 2


@pytest.mark.django_db
def test_install_id_and_license_id_are_unique_per_product(product: Product) -> None:
    Installation.objects.create(product=product, install_id="anon-1", last_seen=NOW)
    with pytest.raises(IntegrityError), transaction.atomic():
        Installation.objects.create(product=product, install_id="anon-1", last_seen=NOW)
    License.objects.create(product=product, license_id="lic-1", first_seen=NOW, last_seen=NOW)
    with pytest.raises(IntegrityError), transaction.atomic():
        License.objects.create(product=product, license_id="lic-1", first_seen=NOW, last_seen=NOW)


@pytest.mark.django_db
def test_a_status_transition_is_recorded_once(product: Product) -> None:
    instance = _instance(product)
    StatusChange.objects.create(instance=instance, old="active", new="stale", at=NOW)
    with pytest.raises(IntegrityError), transaction.atomic():
        StatusChange.objects.create(instance=instance, old="active", new="stale", at=NOW)


@pytest.mark.django_db
def test_ingest_keys_are_generated_and_unique(make_product) -> None:
    first, second = make_product("a"), make_product("b")
    assert first.ingest_key.startswith("tk_") and first.ingest_key != second.ingest_key
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.create(slug="c", name="C", ingest_key=first.ingest_key)
