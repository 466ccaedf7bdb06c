"""Install runs are linked to the instances they became only on evidence, and say why (or why not).

The links are written with the instances' heartbeat update: in that same statement on PostgreSQL,
in a statement of their own on SQLite or for a very large group; both ways are tested.
"""

from datetime import UTC, datetime, timedelta

import pytest

from apps.instances.models import Installation, Instance
from apps.instances.services import HeartbeatSeen, InstallEvidence, InstanceState, instances_apply_heartbeats
from apps.instances.services import heartbeats as heartbeat_services
from apps.products.models import Product

NOW = datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC)
H = timedelta(hours=1)
Link = Installation.Link


@pytest.fixture(params=[True, False], ids=["one-statement", "own-statement"])
def link(request: pytest.FixtureRequest, product: Product, monkeypatch: pytest.MonkeyPatch):
    """Link as the writer does: `link(new instance ids with (install id, ip hash, first seen))`."""
    if not request.param:
        monkeypatch.setattr(heartbeat_services, "_LINKS_IN_ONE_STATEMENT", 0)

    def send(*new: tuple[str, str, str, datetime]) -> dict[str, Instance]:
        instances = {name: Instance.objects.create(product=product, instance_id=name, first_seen=seen,
                                                   last_seen=seen) for name, _, _, seen in new}
        updates, links = [], []
        for name, install_id, ip_hash, seen in new:
            instance = instances[name]
            state = InstanceState(pk=instance.pk, instance_id=name, collection="full", status="new", first_seen=seen,
                                  last_seen=seen, heartbeat_count=0, version="")
            updates.append(state.plan([HeartbeatSeen(timestamp=seen, version="1.0", ip_hash=ip_hash)]))
            links.append(InstallEvidence(pk=instance.pk, first_seen=seen, install_id=install_id, ip_hash=ip_hash))
        instances_apply_heartbeats(updates=updates, now=NOW, product_id=product.pk, install_links=links)
        assert set(Instance.objects.filter(pk__in=[i.pk for i in instances.values()])
                   .values_list("heartbeat_count", flat=True)) == {1}
        return instances

    return send


def run(product: Product, install_id: str, *, ip_hash: str = "", status: str = "succeeded",
        started: datetime = NOW - 2 * H, last_seen: datetime | None = None) -> Installation:
    return Installation.objects.create(product=product, install_id=install_id, ip_hash=ip_hash, status=status,
                                       started_at=started, last_seen=last_seen or started + 0.1 * H)


def links(product: Product) -> dict[str, tuple[str | None, str]]:
    return {i.install_id: (i.instance.instance_id if i.instance else None, i.link_reason)
            for i in Installation.objects.filter(product=product).select_related("instance")}


@pytest.mark.django_db
def test_by_the_install_id_the_heartbeat_carried(link, product: Product, make_product) -> None:
    run(product, "run-1", ip_hash="hash-a")
    run(product, "run-2", ip_hash="hash-a")  # the same address does not matter: the id is the evidence
    run(make_product("other"), "run-1")
    link(("a", "run-1", "hash-a", NOW), ("b", "run-9", "hash-a", NOW))  # b's id names no run: no guess
    assert links(product) == {"run-1": ("a", Link.INSTALL_ID), "run-2": (None, Link.NONE)}
    assert Installation.objects.filter(product__slug="other", instance__isnull=True).count() == 1


@pytest.mark.django_db
def test_never_a_failed_run_to_an_instance_alive_before_it_started(link, product: Product) -> None:
    run(product, "failed-late", status="failed", started=NOW - H)
    run(product, "failed-early", status="failed", started=NOW - 3 * H)
    link(("old", "failed-late", "", NOW - 2 * H), ("fixed", "failed-early", "", NOW - 2 * H))
    assert links(product) == {"failed-late": (None, Link.ALIVE_BEFORE), "failed-early": ("fixed", Link.INSTALL_ID)}


@pytest.mark.django_db
def test_by_address_only_one_run_and_one_new_instance_in_the_window(link, product: Product,
                                                                    make_product) -> None:
    run(product, "alone", ip_hash="hash-a")
    run(product, "shared-1", ip_hash="hash-b")
    run(product, "shared-2", ip_hash="hash-b", started=NOW - 5 * H)
    run(product, "crowded", ip_hash="hash-c")
    run(product, "too-old", ip_hash="hash-d", started=NOW - 30 * H)  # a day after its last step has passed
    run(product, "after", ip_hash="hash-e", started=NOW - 0.5 * H)  # the instance was alive before it started
    run(make_product("other"), "elsewhere", ip_hash="hash-a")
    link(("a", "", "hash-a", NOW - H), ("b", "", "hash-b", NOW - H), ("c1", "", "hash-c", NOW - H),
         ("c2", "", "hash-c", NOW), ("d", "", "hash-d", NOW), ("e", "", "hash-e", NOW - H))
    assert links(product) == {
        "alone": ("a", Link.ADDRESS), "shared-1": (None, Link.SEVERAL_RUNS), "shared-2": (None, Link.SEVERAL_RUNS),
        "crowded": (None, Link.SEVERAL_INSTANCES), "too-old": (None, Link.NONE), "after": (None, Link.NONE)}
    assert Installation.objects.get(install_id="elsewhere").instance is None


@pytest.mark.django_db
def test_a_second_new_instance_from_the_address_undoes_a_link_by_address(link, product: Product) -> None:
    run(product, "run-1", ip_hash="hash-a", started=NOW - 3 * H)
    link(("first", "", "hash-a", NOW - 2 * H))
    assert links(product) == {"run-1": ("first", Link.ADDRESS)}
    link(("second", "", "hash-a", NOW - H))
    assert links(product) == {"run-1": (None, Link.SEVERAL_INSTANCES)}
    link(("third", "", "hash-a", NOW))  # still two others from there: it stays unlinked
    assert links(product) == {"run-1": (None, Link.SEVERAL_INSTANCES)}


@pytest.mark.django_db
def test_a_run_linked_by_install_id_still_counts_at_its_address(link, product: Product) -> None:
    run(product, "by-id", ip_hash="hash-a")
    run(product, "run-2", ip_hash="hash-a")
    link(("first", "by-id", "hash-a", NOW - H), ("second", "", "hash-a", NOW - H))
    assert links(product) == {"by-id": ("first", Link.INSTALL_ID), "run-2": (None, Link.SEVERAL_INSTANCES)}
    run(product, "run-3", ip_hash="hash-b")
    run(product, "by-id-2", ip_hash="hash-b")
    link(("third", "by-id-2", "hash-z", NOW - H))
    link(("fourth", "", "hash-b", NOW - H))
    assert links(product)["run-3"] == (None, Link.SEVERAL_RUNS)


@pytest.mark.django_db
def test_links_made_before_evidence_was_needed_are_left_alone(link, product: Product) -> None:
    earlier = Instance.objects.create(product=product, instance_id="earlier", first_seen=NOW - 5 * H,
                                      last_seen=NOW - 5 * H)
    for reason in (Link.UNCHECKED, Link.NONE):  # marked by the migration, or a row it has not seen
        run(product, f"old-{reason or 'none'}", ip_hash="hash-a")
        Installation.objects.filter(install_id=f"old-{reason or 'none'}").update(instance=earlier, link_reason=reason)
    link(("newcomer", "", "hash-a", NOW - H))
    assert links(product) == {"old-unchecked": ("earlier", Link.UNCHECKED), "old-none": ("earlier", Link.NONE)}
