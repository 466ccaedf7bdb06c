"""simulate_fleet is idempotent per seed: every id follows from the seed, a second run stores nothing twice."""

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.management import call_command

from apps.events.models import Event
from apps.instances.models import Installation, Instance

pytestmark = pytest.mark.django_db
AT = datetime(2026, 3, 18, 15, 40, tzinfo=UTC)


def simulate(seed: int) -> tuple[int, int, str]:
    out = io.StringIO()
    call_command("simulate_fleet", instances=3, days=3, seed=seed, stdout=out, stderr=out)
    text = out.getvalue()
    match = re.search(r"\((\d+) new, (\d+) already stored\), 0 rejected", text)
    assert match, text
    return int(match[1]), int(match[2]), text


def snapshot() -> tuple[set, set, set]:
    return (set(Event.objects.values_list("product__slug", "message_id")),
            set(Instance.objects.values_list("product__slug", "instance_id")),
            set(Installation.objects.values_list("product__slug", "install_id")))


def test_same_seed_twice_stores_nothing_new_and_says_so() -> None:
    with time_machine.travel(AT, tick=False):
        new, already, _ = simulate(seed=5)
        first = snapshot()
        assert new == len(first[0]) > 0 and already == 0
        again_new, again_already, text = simulate(seed=5)
    assert (again_new, again_already) == (0, new), text
    assert snapshot() == first


def test_later_the_same_day_only_what_happened_since_is_new_and_ids_stay_the_same() -> None:
    with time_machine.travel(AT, tick=False):
        simulate(seed=5)
        events, instances, installs = snapshot()
    with time_machine.travel(AT + timedelta(hours=3), tick=False):
        new, already, _ = simulate(seed=5)
        later_events, later_instances, later_installs = snapshot()
    assert events < later_events or events == later_events
    assert (len(later_events) - len(events), already) == (new, len(events))
    assert instances <= later_instances and installs <= later_installs


def test_another_seed_is_another_fleet() -> None:
    with time_machine.travel(AT, tick=False):
        simulate(seed=5)
        _, instances, _ = snapshot()
        new, already, _ = simulate(seed=6)
        _, both, _ = snapshot()
    assert new > 0 and already == 0
    assert instances < both and len(both) == 2 * len(instances)
