"""The dashboard's reads: right numbers from the rollup tables, ranges parsed safely."""

from datetime import UTC, date, datetime

import pytest
from django.http import QueryDict
from django.test import Client

from apps.instances.models import InstanceStatus
from apps.rollups.dashboard import DateRange, date_range_from_params, fleet_dashboard
from apps.rollups.models import DailyBreakdown
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
    board = fleet_dashboard(product=fleet.product, span=span)

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
                              InstanceStatus.DEAD: 4}
    assert board.report == fleet.reports[0]


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
    assert len(countries) == 13 and countries[-1] == {"label": "other", "count": 20 + 0 + 20 + 1}
    assert countries[0] == {"label": COUNTRIES[-1], "count": 20 + len(COUNTRIES) - 1}
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
    assert client.get("/admin/fleet/").url == f"/admin/fleet/{fleet.product.slug}/"
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
