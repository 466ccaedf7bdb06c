"""The dashboard's reads: right numbers from the rollup tables, ranges parsed safely, live figures,
buckets for long ranges, and the pages around it (overview, rebuild, live.json)."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.http import QueryDict
from django.test import Client

from apps.instances.models import Installation, Instance, InstanceStatus
from apps.products.models import Product
from apps.rollups.dashboard import (
    DateRange,
    bucketed,
    date_range_from_params,
    fleet_dashboard,
    fleet_overview,
    install_failures,
)
from apps.rollups.models import DailyBreakdown, DailyRollup
from apps.rollups.views import REBUILD_KEY
from tests.admin_fleet import COUNTRIES, VERSIONS, build_fleet

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
TODAY = NOW.date()


def _params(query: str) -> QueryDict:
    return QueryDict(query)


@pytest.mark.parametrize(("query", "expected"), [
    ("", DateRange(date(2025, 1, 31), TODAY, "30d")),
    ("range=7d", DateRange(date(2025, 2, 23), TODAY, "7d")),
    ("range=1y", DateRange(date(2024, 3, 2), TODAY, "1y")),
    ("range=bogus", DateRange(date(2025, 1, 31), TODAY, "30d")),
    ("from=2025-01-01&to=2025-01-10", DateRange(date(2025, 1, 1), date(2025, 1, 10))),
    ("from=2025-01-10&to=2025-01-01", DateRange(date(2025, 1, 1), date(2025, 1, 10))),
    ("from=2025-02-20", DateRange(date(2025, 2, 20), TODAY)),
    ("from=not-a-date", DateRange(date(2025, 1, 31), TODAY, "30d")),
    ("from=2000-01-01&to=2025-01-01", DateRange(date(2023, 1, 1), date(2025, 1, 1))),
])
def test_date_range_from_params(query: str, expected: DateRange) -> None:
    assert date_range_from_params(_params(query), today=TODAY) == expected


@pytest.mark.django_db
def test_dashboard_reads_rollups_for_the_range() -> None:
    fleet = build_fleet(size=20, days=10, now=NOW)
    span = DateRange(date(2025, 2, 25), TODAY)
    board = fleet_dashboard(product=fleet.product, span=span, now=NOW)

    assert board.activity["labels"][0] == "2025-02-25" and len(board.activity["labels"]) == 5
    assert board.activity["series"]["active_instances"] == [20] * 5
    assert board.activity["totals"]["installs_started"] == 5 * 4
    assert board.activity["totals"]["installs_succeeded"] == 5 * 3
    # build_fleet: 10 versions, count = 20 // 10 + index; the top 8 by total, the rest folded into "other".
    labels = [d["label"] for d in board.versions["datasets"]]
    assert labels[0] == "other" and len(labels) == 9
    assert labels[1:] == VERSIONS[2:]  # oldest at the bottom of the stack
    other = board.versions["datasets"][0]["data"]
    assert other == [(2 + 0) + (2 + 1)] * 5
    assert board.events[0] == {"name": "login", "count": 5 * 23, "instance_days": 5 * 13}
    assert board.snapshot["day"] == TODAY
    assert {r["label"] for r in board.snapshot[DailyBreakdown.Dimension.LICENSE_TYPE]} == {
        "none or unknown", "DEV", "ENTERPRISE"}
    assert board.statuses == {InstanceStatus.NEW: 4, InstanceStatus.ACTIVE: 8, InstanceStatus.STALE: 4,
                              InstanceStatus.DEAD: 4, "new_today": 0}
    assert board.report == fleet.reports[0]
    # Freshness: when the rollups were built, and today is the partial last point.
    assert board.activity["as_of"] == NOW and board.activity["partial"] and board.activity["bucket"] == "day"
    assert board.activity["previous_active"] == [20] * 5  # the five days before, also in the fleet
    assert [r["version"] for r in board.releases] == []  # build_fleet's releases are 28-30 days old


@pytest.mark.django_db
def test_live_tiles_come_from_the_instances_table_not_the_rollups() -> None:
    fleet = build_fleet(size=5, days=3, now=NOW)
    Instance.objects.filter(pk=fleet.instances[0].pk).update(first_seen=NOW - timedelta(hours=1))
    board = fleet_dashboard(product=fleet.product, span=DateRange(date(2025, 2, 25), TODAY), now=NOW)
    tiles = {tile["label"]: tile for tile in board.tiles}
    assert tiles["Instances alive now"]["value"] == 3 and tiles["Instances alive now"]["live"]  # 2 active, 1 new
    assert tiles["New today"]["value"] == 1
    # Today's rollup is partial: the tile shows the last complete day (yesterday).
    assert tiles["Active in the last full day"]["value"] == 5


@pytest.mark.django_db
def test_sdk_bookkeeping_events_are_not_top_events() -> None:
    fleet = build_fleet(size=5, days=2, now=NOW)
    DailyBreakdown.objects.create(product=fleet.product, day=TODAY, dimension="event", key="$identify",
                                  count=10_000, instances=5)
    board = fleet_dashboard(product=fleet.product, span=DateRange(TODAY, TODAY), now=NOW)
    assert "$identify" not in [e["name"] for e in board.events]


def test_bucketing_sums_flows_and_averages_levels() -> None:
    days = [date(2025, 1, 6) + timedelta(days=n) for n in range(10)]  # Monday 6 Jan .. Wednesday 15 Jan
    values = {day: 10 for day in days[:7]} | {days[7]: 20}
    assert bucketed(values, days=days, bucket="week", level=False) == [70, 20]
    assert bucketed(values, days=days, bucket="week", level=True) == [10, 20]  # days without a figure ignored
    assert DateRange(date(2025, 1, 1), date(2025, 3, 31)).bucket == "day"  # 90 days
    assert DateRange(date(2025, 1, 1), date(2025, 4, 1)).bucket == "week"
    assert DateRange(date(2024, 1, 1), date(2025, 1, 1)).bucket == "month"


@pytest.mark.django_db
def test_a_long_range_is_drawn_by_week_and_a_two_year_range_by_month() -> None:
    fleet = build_fleet(size=4, days=120, now=NOW)
    weekly = fleet_dashboard(product=fleet.product, span=DateRange(TODAY - timedelta(days=119), TODAY), now=NOW)
    assert weekly.activity["bucket"] == "week" and len(weekly.activity["labels"]) == 18
    assert all(date.fromisoformat(label).weekday() == 0 for label in weekly.activity["labels"][1:])
    assert set(weekly.activity["series"]["active_instances"]) == {4}  # a level: the daily mean
    assert sum(weekly.activity["series"]["heartbeats"]) == 120 * 12 * 4  # a flow: summed
    monthly = fleet_dashboard(product=fleet.product, span=DateRange(TODAY - timedelta(days=700), TODAY), now=NOW)
    assert monthly.activity["bucket"] == "month" and monthly.activity["labels"][-1] == "2025-03-01"
    assert len(monthly.versions["labels"]) == len(monthly.activity["labels"])


@pytest.mark.django_db
def test_install_failures_are_grouped_by_error_and_os() -> None:
    product = Product.objects.create(slug="p", name="P")
    for n, (error, os_name) in enumerate([("port 80 in use", "ubuntu")] * 3 + [("port 80 in use", "debian"),
                                                                            ("no docker", "ubuntu")]):
        Installation.objects.create(product=product, install_id=f"i{n}", status="failed", os=os_name, error=error,
                                    started_at=NOW, last_seen=NOW)
    Installation.objects.create(product=product, install_id="ok", status="succeeded", os="ubuntu", started_at=NOW,
                                last_seen=NOW)
    rows = install_failures(product=product, span=DateRange(TODAY, TODAY))
    assert [(r["error_head"], r["os"], r["count"]) for r in rows] == [
        ("port 80 in use", "ubuntu", 3), ("no docker", "ubuntu", 1), ("port 80 in use", "debian", 1)]


@pytest.mark.django_db
def test_overview_has_every_product_with_live_counts_and_a_sparkline() -> None:
    big = build_fleet(size=10, days=40, now=NOW, slug="big")
    empty = Product.objects.create(slug="empty", name="Empty")
    rows = {row.product.slug: row for row in fleet_overview(products=[big.product, empty], now=NOW)}
    assert rows["big"].alive == 6 and rows["big"].statuses["stale"] == 2
    assert rows["big"].sparkline == [10] * 30 and rows["big"].installs == 30 * 4
    assert rows["empty"].alive == 0 and rows["empty"].sparkline == [0] * 30


@pytest.mark.django_db
def test_dashboard_shows_the_dark_fleet_beside_active_instances_and_countries() -> None:
    fleet = build_fleet(size=20, days=10, now=NOW)
    board = fleet_dashboard(product=fleet.product, span=DateRange(date(2025, 2, 25), TODAY))
    dark = board.dark
    # build_fleet: 20 // 4 opt-outs a day, one more on odd days back from today.
    assert dark["opt_outs"] == [5, 6, 5, 6, 5] and dark["active"] == [20] * 5
    assert (dark["total"], dark["last_day"]) == (27, 5)
    # opt_out_version rows: count = size + position of the version, each of the 5 days.
    assert dark["versions"] == [{"label": VERSIONS[2], "count": 5 * 22}, {"label": VERSIONS[1], "count": 5 * 21},
                                {"label": VERSIONS[0], "count": 5 * 20}]
    countries = board.snapshot[DailyBreakdown.Dimension.COUNTRY]
    # The 12 largest on the last day, then the rest as "other"; unknown ("") is a slice of its own.
    assert len(countries) == 13 and countries[-1] == {"label": "other", "key": None, "count": 20 + 0 + 20 + 1}
    assert countries[0] == {"label": COUNTRIES[-1], "key": COUNTRIES[-1], "count": 20 + len(COUNTRIES) - 1}
    data = board.chart_data()
    assert data["dark_fleet"] is dark and data["countries"] == countries


@pytest.mark.django_db
def test_dashboard_of_a_range_without_rollups_is_empty_not_broken() -> None:
    fleet = build_fleet(size=3, days=2, now=NOW)
    board = fleet_dashboard(product=fleet.product, span=DateRange(date(2020, 1, 1), date(2020, 1, 31)))
    assert not board.activity["has_data"]
    assert board.versions["datasets"] == [] and board.events == [] and board.snapshot["day"] is None
    assert board.activity["series"]["active_instances"] == [0] * 31


@pytest.mark.django_db
def test_dashboard_pages(client: Client, staff_user) -> None:
    fleet = build_fleet(size=5, days=5, now=NOW)
    client.force_login(staff_user)
    overview = client.get("/admin/fleet/").content.decode()
    assert f'href="/admin/fleet/{fleet.product.slug}/"' in overview and "<polyline" in overview
    response = client.get(f"/admin/fleet/{fleet.product.slug}/", {"from": "2025-02-25", "to": "2025-03-01"})
    assert response.status_code == 200
    body = response.content.decode()
    for chart in ("activity", "darkfleet", "versions", "movement", "funnel", "events", "statuses", "licenses",
                  "platforms", "countries"):
        assert f'data-chart="{chart}"' in body
    assert "vendor/chartjs/chart.umd.js" in body and "cdn" not in body.lower()
    assert client.get("/admin/fleet/nope/").status_code == 404
    assert f'href="/admin/fleet/{fleet.product.slug}/"' in client.get("/admin/").content.decode()


@pytest.mark.django_db
def test_dashboard_needs_a_staff_login(client: Client, django_user_model) -> None:
    assert client.get("/admin/fleet/appsmith/").status_code == 302
    django_user_model.objects.create_user("plain", password="x-pass-123", is_staff=True)
    client.login(username="plain", password="x-pass-123")
    assert client.get("/admin/fleet/appsmith/").status_code == 403


@pytest.mark.django_db
def test_rebuild_now_queues_the_task_and_reports_its_progress(client: Client, staff_user, monkeypatch) -> None:
    fleet = build_fleet(size=3, days=2, now=NOW)
    queued: list[dict] = []
    monkeypatch.setattr("apps.rollups.tasks.build_rollups.apply_async", lambda **kw: queued.append(kw))
    cache.delete(REBUILD_KEY.format(slug=fleet.product.slug))
    client.force_login(staff_user)
    with time_machine.travel(NOW + timedelta(minutes=5), tick=False):
        response = client.post(f"/admin/fleet/{fleet.product.slug}/rebuild/", {"query": "range=7d"})
        assert response.status_code == 302 and response["Location"] == f"/admin/fleet/{fleet.product.slug}/?range=7d"
        assert len(queued) == 1
        live = client.get(f"/admin/fleet/{fleet.product.slug}/live.json").json()
        assert live["rebuild_done"] is False and live["alive"] == 3
        page = client.get(f"/admin/fleet/{fleet.product.slug}/").content.decode()
        assert "waiting for the worker" in page
        # The worker's rollups are newer than the request: done.
        DailyRollup.objects.filter(product=fleet.product).update(computed_at=NOW + timedelta(minutes=6))
        assert client.get(f"/admin/fleet/{fleet.product.slug}/live.json").json()["rebuild_done"] is True
    assert client.get(f"/admin/fleet/{fleet.product.slug}/rebuild/").status_code == 405
    cache.delete(REBUILD_KEY.format(slug=fleet.product.slug))


@pytest.mark.django_db
def test_rebuild_with_the_broker_down_says_so(client: Client, staff_user, monkeypatch) -> None:
    fleet = build_fleet(size=2, days=1, now=NOW)

    def down(**kwargs: object) -> None:
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr("apps.rollups.tasks.build_rollups.apply_async", down)
    client.force_login(staff_user)
    response = client.post(f"/admin/fleet/{fleet.product.slug}/rebuild/", follow=True)
    assert "could not be queued" in response.content.decode()


@pytest.mark.django_db
def test_an_empty_product_shows_its_key_and_a_first_ping(client: Client, staff_user) -> None:
    product = Product.objects.create(slug="fresh", name="Fresh")
    client.force_login(staff_user)
    body = client.get("/admin/fleet/fresh/").content.decode()
    assert 'data-testid="onboarding"' in body and product.ingest_key in body
    assert "curl -s http://testserver/api/v1/ingest" in body and 'data-empty="1"' in body
    assert client.get("/admin/fleet/fresh/live.json").json()["instances"] == 0
