"""Install runs are linked to the instances they became with the instances' heartbeat update:
in that same statement on PostgreSQL, in a statement of its own on SQLite or for a very large group."""

from datetime import UTC, datetime

import pytest

from apps.instances.models import Installation, Instance
from apps.instances.services import HeartbeatSeen, InstanceState, instances_apply_heartbeats
from apps.instances.services import heartbeats as heartbeat_services
from apps.products.models import Product

NOW = datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC)


def fresh_state(instance: Instance) -> InstanceState:
    return InstanceState(pk=instance.pk, instance_id=instance.instance_id, collection=instance.collection,
                         status=instance.status, first_seen=instance.first_seen, last_seen=instance.last_seen,
                         heartbeat_count=0, version="")


@pytest.mark.django_db
@pytest.mark.parametrize("together", [True, False], ids=["one-statement", "own-statement"])
def test_install_runs_are_linked_by_install_id_or_address(product: Product, make_product,
                                                          monkeypatch: pytest.MonkeyPatch, together: bool) -> None:
    if not together:
        monkeypatch.setattr(heartbeat_services, "_LINKS_IN_ONE_STATEMENT", 0)
    other = make_product("other")
    by_id, by_address, unmatched = (
        Instance.objects.create(product=product, instance_id=name, first_seen=NOW, last_seen=NOW)
        for name in ("by-id", "by-address", "unmatched"))
    for name, owner, ip_hash in (("run-1", product, ""), ("run-2", product, "hash-a"), ("run-3", other, "hash-a"),
                                 ("run-4", product, "hash-b")):
        Installation.objects.create(product=owner, install_id=name, ip_hash=ip_hash, last_seen=NOW)
    updates = [fresh_state(instance).plan([HeartbeatSeen(timestamp=NOW, version="1.0", ip_hash=ip_hash)])
               for instance, ip_hash in ((by_id, "hash-x"), (by_address, "hash-a"), (unmatched, "hash-c"))]

    instances_apply_heartbeats(updates=updates, now=NOW, product_id=product.pk, install_links=[
        (by_id.pk, "run-1", "hash-x"), (by_address.pk, "", "hash-a"), (unmatched.pk, "", "hash-c")])

    linked = dict(Installation.objects.values_list("install_id", "instance_id"))
    assert linked == {"run-1": by_id.pk, "run-2": by_address.pk, "run-3": None, "run-4": None}
    assert set(Instance.objects.values_list("version", flat=True)) == {"1.0"}
    assert set(Instance.objects.values_list("heartbeat_count", flat=True)) == {1}
