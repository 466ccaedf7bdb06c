"""Daily rollups on rows created directly: exact figures, day boundaries, replace semantics."""

from datetime import UTC, date, datetime, timedelta
from itertools import count

import pytest
import time_machine
from django.core.management import CommandError, call_command

from apps.events.models import Event
from apps.instances.models import Installation, Instance, StatusChange
from apps.licenses.models import License
from apps.products.models import Product
from apps.rollups.models import DailyBreakdown, DailyRollup
from apps.rollups.services import rollups_build

DAY = date(2024, 3, 5)
D0 = datetime(2024, 3, 5, tzinfo=UTC)
H = timedelta(hours=1)
COMPUTED = datetime(2024, 3, 6, 1, 7, tzinfo=UTC)
_ids = count()


def _event(instance: Instance | None, kind: str, name: str, at: datetime, product: Product | None = None,
           **properties: str) -> Event:
    if product is None:
        assert instance is not None, "an event names its product, or an instance that does"
        product = instance.product
    return Event.objects.create(product=product, instance=instance, kind=kind, name=name,
                                message_id=f"m{next(_ids)}", timestamp=at, received_at=at, properties=properties)


def _instance(product: Product, name: str, first_seen: datetime, **fields) -> Instance:
    return Instance.objects.create(product=product, instance_id=name, first_seen=first_seen, last_seen=first_seen,
                                   **fields)


def _install(product: Product, name: str, status: str, started: datetime | None, finished: datetime | None,
             last_seen: datetime) -> None:
    Installation.objects.create(product=product, install_id=name, status=status, started_at=started,
                                finished_at=finished, last_seen=last_seen)


@pytest.fixture
def day_of_activity(product: Product, make_product) -> dict[str, Instance]:
    enterprise = License.objects.create(product=product, license_id="L1", type="enterprise", first_seen=D0,
                                        last_seen=D0)
    community = License.objects.create(product=product, license_id="L2", type="community", first_seen=D0,
                                       last_seen=D0)
    a = _instance(product, "a", D0 + H, version="1.9", edition="CE", os="linux", license=enterprise, country="DE")
    b = _instance(product, "b", D0 - 24 * H, version="1.8", edition="EE", os="darwin", country="DE")
    c = _instance(product, "c", D0 - 120 * H, version="1.9", os="linux")
    d = _instance(product, "d", D0 - 200 * H, version="1.9", edition="CE", os="windows", license=community)
    c.country = "US"  # c was not active on DAY: its country is not counted
    c.save()
    e = _instance(product, "e", D0 - 300 * H)
    for hour in (1, 3, 5):
        _event(a, "heartbeat", "FETCH_RELEASE_NOTES", D0 + hour * H)
    _event(b, "heartbeat", "FETCH_RELEASE_NOTES", D0 + 24 * H - timedelta(seconds=1))
    _event(c, "heartbeat", "FETCH_RELEASE_NOTES", D0 - H)  # the day before: c is not active on DAY
    _event(d, "heartbeat", "FETCH_RELEASE_NOTES", D0 + 12 * H)
    _event(a, "event", "page_view", D0)  # the first instant of the day belongs to it
    _event(a, "event", "page_view", D0 + 2 * H)
    _event(b, "event", "page_view", D0 + 4 * H)
    _event(b, "event", "api_call", D0 + 4 * H)
    _event(a, "event", "page_view", D0 + 24 * H)  # the next day
    _event(None, "install", "Installation Started", D0 + 8 * H, product=product)
    # The dark fleet: instance-less opt-outs, counted by the version each carried.
    _event(None, "opt_out", "opt_out", D0 + 3 * H, product=product, version="1.9", os="linux")
    _event(None, "opt_out", "opt_out", D0 + 7 * H, product=product, version="1.9", os="darwin")
    _event(None, "opt_out", "opt_out", D0 + 9 * H, product=product, version="", os="linux")
    _event(None, "opt_out", "opt_out", D0 - H, product=product, version="1.7", os="linux")  # the day before
    StatusChange.objects.create(instance=c, old="active", new="stale", at=D0 + 10 * H)
    StatusChange.objects.create(instance=d, old="stale", new="active", at=D0 + 12 * H)
    StatusChange.objects.create(instance=e, old="stale", new="dead", at=D0 + 2 * H)
    StatusChange.objects.create(instance=e, old="dead", new="active", at=D0 + 24 * H)
    _install(product, "i1", "succeeded", D0 + 8 * H, D0 + 8.1 * H, D0 + 8.1 * H)
    _install(product, "i2", "failed", D0 + 9 * H, D0 + 9.2 * H, D0 + 9.2 * H)
    _install(product, "i3", "succeeded", D0 - 0.2 * H, D0 + 0.2 * H, D0 + 0.2 * H)  # started the day before
    _install(product, "i4", "started", D0 + 10 * H, None, D0 + 10 * H)
    _install(product, "i5", "support", D0 + 10.5 * H, None, D0 + 11 * H)
    other = make_product("hasura")
    _event(_instance(other, "h", D0 + H), "heartbeat", "hasura.server", D0 + 2 * H)
    return {"a": a, "b": b, "c": c, "d": d, "e": e}


def _rollup(product: Product) -> dict[str, object]:
    row = DailyRollup.objects.get(product=product, day=DAY)
    return {f.name: getattr(row, f.name) for f in DailyRollup._meta.fields if f.name not in ("id", "product", "day")}


def _breakdowns(product: Product) -> set[tuple[str, str, int, int]]:
    return set(DailyBreakdown.objects.filter(product=product, day=DAY)
               .values_list("dimension", "key", "count", "instances"))


EXPECTED_ROLLUP = {
    "active_instances": 3, "new_instances": 1, "stale_instances": 1, "dead_instances": 1,
    "resurrected_instances": 1, "heartbeats": 5, "events": 4, "installs_started": 4, "installs_succeeded": 2,
    "installs_failed": 1, "installs_support": 1, "opt_outs": 3, "computed_at": COMPUTED,
}
EXPECTED_BREAKDOWNS = {
    ("version", "1.9", 2, 2), ("version", "1.8", 1, 1),
    ("edition", "CE", 2, 2), ("edition", "EE", 1, 1),
    ("os", "linux", 1, 1), ("os", "darwin", 1, 1), ("os", "windows", 1, 1),
    ("license_type", "enterprise", 1, 1), ("license_type", "community", 1, 1), ("license_type", "", 1, 1),
    ("event", "page_view", 3, 2), ("event", "api_call", 1, 1),
    ("country", "DE", 2, 2), ("country", "", 1, 1),
    ("opt_out_version", "1.9", 2, 0), ("opt_out_version", "", 1, 0),
}


@pytest.mark.django_db
def test_one_day_of_figures(product: Product, day_of_activity: dict[str, Instance]) -> None:
    assert rollups_build(days=[DAY], now=COMPUTED) == 2

    assert _rollup(product) == EXPECTED_ROLLUP
    assert _breakdowns(product) == EXPECTED_BREAKDOWNS
    hasura = Product.objects.get(slug="hasura")
    assert _rollup(hasura) | {"computed_at": None} == {key: 0 for key in EXPECTED_ROLLUP} | {
        "active_instances": 1, "new_instances": 1, "heartbeats": 1, "computed_at": None}
    assert _breakdowns(hasura) == {("version", "", 1, 1), ("edition", "", 1, 1), ("os", "", 1, 1),
                                   ("license_type", "", 1, 1), ("country", "", 1, 1)}


@pytest.mark.django_db
def test_rebuilding_replaces_and_drops_vanished_rows(product: Product, day_of_activity: dict[str, Instance]) -> None:
    rollups_build(days=[DAY], now=COMPUTED)
    rollups_build(days=[DAY], now=COMPUTED)
    assert DailyRollup.objects.filter(day=DAY).count() == 2
    assert _rollup(product) == EXPECTED_ROLLUP
    assert _breakdowns(product) == EXPECTED_BREAKDOWNS

    Event.objects.filter(name="api_call").delete()
    Instance.objects.filter(instance_id="b").update(version="1.9")  # b upgraded
    later = COMPUTED + H
    rollups_build(days=[DAY], now=later)

    assert _rollup(product) == EXPECTED_ROLLUP | {"events": 3, "computed_at": later}
    assert _breakdowns(product) == (EXPECTED_BREAKDOWNS - {("event", "api_call", 1, 1), ("version", "1.9", 2, 2),
                                                           ("version", "1.8", 1, 1)}) | {("version", "1.9", 3, 3)}


@pytest.mark.django_db
def test_a_day_without_activity_is_a_row_of_zeros(product: Product) -> None:
    rollups_build(days=[DAY], now=COMPUTED)
    assert _rollup(product) == {key: 0 for key in EXPECTED_ROLLUP} | {"computed_at": COMPUTED}
    assert _breakdowns(product) == set()


@pytest.mark.django_db
def test_command_builds_a_range_and_defaults_to_yesterday_and_today(product: Product) -> None:
    call_command("build_rollups", "--from", "2024-02-27", "--to", "2024-03-02", verbosity=0)
    assert list(DailyRollup.objects.order_by("day").values_list("day", flat=True)) == [
        date(2024, 2, 27), date(2024, 2, 28), date(2024, 2, 29), date(2024, 3, 1), date(2024, 3, 2)]
    DailyRollup.objects.all().delete()
    with time_machine.travel(datetime(2024, 3, 6, 0, 30, tzinfo=UTC), tick=False):
        call_command("build_rollups", verbosity=0)
    assert list(DailyRollup.objects.order_by("day").values_list("day", "computed_at")) == [
        (date(2024, 3, 5), datetime(2024, 3, 6, 0, 30, tzinfo=UTC)),
        (date(2024, 3, 6), datetime(2024, 3, 6, 0, 30, tzinfo=UTC))]


@pytest.mark.django_db
def test_command_rejects_a_backwards_range(product: Product) -> None:
    with pytest.raises(CommandError, match="--from"):
        call_command("build_rollups", "--from", "2024-03-02", "--to", "2024-03-01")
