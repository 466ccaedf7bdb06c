"""Events, installations, licences, daily rollups and reports."""

from datetime import date, timedelta

import pytest
from rest_framework.test import APIClient

from apps.instances.models import Installation, Instance
from apps.licenses.models import License
from apps.products.models import Product
from apps.rollups.models import DailyBreakdown, DailyRollup, Report

from .conftest import NOW, count_queries


def results(response) -> list[dict]:
    assert response.status_code == 200, response.content
    assert set(response.json()) == {"count", "next", "previous", "results"}
    return response.json()["results"]


@pytest.fixture
def events(licensed_instance: Instance, make_instance, make_event, make_product) -> dict:
    other = make_instance("other-instance")
    hasura = make_product("hasura")
    return {
        "boot": make_event(licensed_instance, "FETCH_RELEASE_NOTES", kind="heartbeat",
                           timestamp=NOW - timedelta(hours=2), received_at=NOW - timedelta(hours=1),
                           properties={"version": "v1.9.15"}),
        "page": make_event(licensed_instance, "APPLICATIONS_PAGE_LOAD", timestamp=NOW - timedelta(hours=1)),
        "other": make_event(other, "APPLICATIONS_PAGE_LOAD", timestamp=NOW),
        "orphan": make_event(None, "Installation Started", kind="install", timestamp=NOW - timedelta(days=1)),
        "hasura": make_event(None, "hasura.server", product=hasura, timestamp=NOW - timedelta(minutes=1)),
    }


@pytest.mark.django_db
def test_event_objects_newest_first(api: APIClient, events: dict) -> None:
    listed = results(api.get("/api/v1/events/"))
    assert [e["id"] for e in listed] == [events[k].pk for k in ("other", "hasura", "page", "boot", "orphan")]
    boot = next(e for e in listed if e["id"] == events["boot"].pk)
    assert boot == {"id": events["boot"].pk, "product": "appsmith", "instance_id": "609ce8fb4092701c69df9846",
                    "kind": "heartbeat", "name": "FETCH_RELEASE_NOTES", "message_id": events["boot"].message_id,
                    "timestamp": "2024-01-09T10:00:00Z", "received_at": "2024-01-09T11:00:00Z",
                    "properties": {"version": "v1.9.15"}}
    assert listed[-1]["instance_id"] is None
    assert api.get(f"/api/v1/events/{events['boot'].pk}/").json() == boot


@pytest.mark.django_db
@pytest.mark.parametrize(("params", "expected"), [
    ({"product": "hasura"}, ["hasura"]),
    ({"product": "appsmith", "instance_id": "609ce8fb4092701c69df9846"}, ["page", "boot"]),
    ({"instance_id": "other-instance"}, ["other"]),
    ({"instance_id": "609ce8fb"}, []),  # exact, not a prefix
    ({"name": "APPLICATIONS_PAGE_LOAD"}, ["other", "page"]),
    ({"kind": "install"}, ["orphan"]),
    ({"since": "2024-01-09T10:00:00Z"}, ["other", "hasura", "page", "boot"]),  # inclusive
    ({"until": "2024-01-09T10:00:00Z"}, ["orphan"]),  # exclusive
    ({"since": "2024-01-09T10:30:00Z", "until": "2024-01-09T11:59:00Z", "product": "appsmith"}, ["page"]),
])
def test_event_filters(api: APIClient, events: dict, params: dict, expected: list[str]) -> None:
    assert [e["id"] for e in results(api.get("/api/v1/events/", params))] == [events[k].pk for k in expected]


@pytest.mark.django_db
@pytest.mark.parametrize("params", [{"since": "soon"}, {"until": "2024-02-30"}, {"kind": "metric"}])
def test_bad_event_filters_are_400(api: APIClient, events: dict, params: dict) -> None:
    response = api.get("/api/v1/events/", params)
    assert response.status_code == 400 and response.json()["code"] == "invalid"


@pytest.mark.django_db
def test_events_walk_by_cursor_and_count_is_capped(api: APIClient, licensed_instance: Instance, make_event,
                                                   monkeypatch) -> None:
    for n in range(7):
        make_event(licensed_instance, timestamp=NOW - timedelta(minutes=n // 2))  # pairs share a timestamp
    page = api.get("/api/v1/events/", {"page_size": 3}).json()
    assert page["count"] == 7 and page["previous"] is None
    seen = [e["id"] for e in page["results"]]
    while page["next"]:
        page = api.get(page["next"]).json()
        seen += [e["id"] for e in page["results"]]
    assert len(seen) == len(set(seen)) == 7
    monkeypatch.setattr("apps.staff_api.pagination.COUNT_CAP", 5)
    assert api.get("/api/v1/events/").json()["count"] is None
    assert api.get("/api/v1/events/", {"page_size": 2}).json()["count"] is None
    assert api.get("/api/v1/events/", {"name": "nothing"}).json()["count"] == 0


@pytest.mark.django_db
def test_a_forged_cursor_is_404_not_a_crash(api: APIClient, events: dict) -> None:
    import base64

    forged = base64.b64encode(b"p=not-a-time&r=0").decode()
    response = api.get("/api/v1/events/", {"cursor": forged})
    assert response.status_code == 404 and response.json()["code"] == "not_found"


@pytest.mark.django_db
def test_event_list_runs_a_fixed_number_of_queries(api: APIClient, events: dict, licensed_instance, make_event) -> None:
    few = count_queries(lambda: api.get("/api/v1/events/", {"product": "appsmith"}))
    for _ in range(25):
        make_event(licensed_instance)
    assert count_queries(lambda: api.get("/api/v1/events/", {"product": "appsmith"})) == few <= 3


@pytest.mark.django_db
def test_installations(api: APIClient, installation: Installation, make_product) -> None:
    hasura = make_product("hasura")
    failed = Installation.objects.create(product=hasura, install_id="anon-8", status="failed", error="no docker",
                                         last_seen=NOW - timedelta(days=1))
    listed = results(api.get("/api/v1/installations/"))
    assert listed[0] == {"id": installation.pk, "product": "appsmith", "install_id": "anon-7", "status": "succeeded",
                         "os": "ubuntu", "started_at": "2024-01-09T11:55:00Z", "finished_at": "2024-01-09T12:00:00Z",
                         "last_seen": "2024-01-09T12:00:00Z", "error": "", "instance": installation.instance_id,
                         "instance_id": "609ce8fb4092701c69df9846", "link_reason": ""}
    assert listed[1]["instance_id"] is None and listed[1]["instance"] is None and listed[1]["error"] == "no docker"
    assert [i["id"] for i in results(api.get("/api/v1/installations/", {"status": "failed"}))] == [failed.pk]
    assert [i["id"] for i in results(api.get("/api/v1/installations/", {"product": "appsmith"}))] == [installation.pk]
    assert results(api.get("/api/v1/installations/", {"product": "hasura", "status": "succeeded"})) == []
    assert api.get("/api/v1/installations/", {"status": "done"}).status_code == 400
    Installation.objects.filter(pk=failed.pk).update(link_reason="several_runs")
    assert [i["id"] for i in results(api.get("/api/v1/installations/", {"link_reason": "several_runs"}))] == [
        failed.pk]
    assert api.get("/api/v1/installations/", {"link_reason": "guessed"}).status_code == 400
    assert api.get(f"/api/v1/installations/{failed.pk}/").json()["install_id"] == "anon-8"
    for n in range(20):
        Installation.objects.create(product=hasura, install_id=f"x{n}", last_seen=NOW, instance=installation.instance)
    assert count_queries(lambda: api.get("/api/v1/installations/")) <= 3


@pytest.mark.django_db
def test_licences_with_their_instances(api: APIClient, licensed_instance: Instance, make_instance,
                                       make_product) -> None:
    licence = licensed_instance.license
    assert licence is not None
    second = make_instance("second", license=licence, last_seen=NOW - timedelta(hours=1))
    flowfuse = make_product("flowfuse")
    License.objects.create(product=flowfuse, license_id="ff-1", type="team", first_seen=NOW, last_seen=NOW)
    listed = results(api.get("/api/v1/licenses/", {"product": "appsmith"}))
    assert listed == [{
        "id": licence.pk, "product": "appsmith", "license_id": "lic-9f2", "type": "enterprise",
        "first_seen": "2024-01-04T12:00:00Z", "last_seen": "2024-01-09T12:00:00Z",
        "instances": [
            {"id": licensed_instance.pk, "instance_id": "609ce8fb4092701c69df9846", "status": "active",
             "version": "v1.9.15", "last_seen": "2024-01-09T12:00:00Z"},
            {"id": second.pk, "instance_id": "second", "status": "new", "version": "",
             "last_seen": "2024-01-09T11:00:00Z"},
        ],
    }]
    assert [row["license_id"] for row in results(api.get("/api/v1/licenses/", {"product": "flowfuse"}))] == ["ff-1"]
    assert [row["license_id"] for row in results(api.get("/api/v1/licenses/", {"type": "team"}))] == ["ff-1"]
    assert api.get(f"/api/v1/licenses/{licence.pk}/").json() == listed[0]
    few = count_queries(lambda: api.get("/api/v1/licenses/"))
    for n in range(15):
        lic = License.objects.create(product=flowfuse, license_id=f"l{n}", first_seen=NOW, last_seen=NOW)
        make_instance(f"on-l{n}", product=flowfuse, license=lic)
    assert count_queries(lambda: api.get("/api/v1/licenses/")) == few <= 4


@pytest.fixture
def rollups(product: Product, make_product) -> dict:
    hasura = make_product("hasura")
    made = {}
    for day in (date(2024, 1, 7), date(2024, 1, 8)):
        made[("appsmith", day)] = DailyRollup.objects.create(product=product, day=day, active_instances=day.day,
                                                             heartbeats=10 * day.day, opt_outs=day.day - 5,
                                                             computed_at=NOW)
    made[("hasura", date(2024, 1, 8))] = DailyRollup.objects.create(product=hasura, day=date(2024, 1, 8),
                                                                    computed_at=NOW)
    for key, count in (("v1.9.15", 5), ("v1.9.2", 3)):
        DailyBreakdown.objects.create(product=product, day=date(2024, 1, 8), dimension="version", key=key,
                                      count=count, instances=count)
    DailyBreakdown.objects.create(product=product, day=date(2024, 1, 8), dimension="event",
                                  key="APPLICATIONS_PAGE_LOAD", count=40, instances=4)
    DailyBreakdown.objects.create(product=product, day=date(2024, 1, 7), dimension="os", key="linux", count=7,
                                  instances=7)
    for key, count in (("DE", 6), ("", 2)):
        DailyBreakdown.objects.create(product=product, day=date(2024, 1, 8), dimension="country", key=key,
                                      count=count, instances=count)
    DailyBreakdown.objects.create(product=product, day=date(2024, 1, 8), dimension="opt_out_version",
                                  key="v1.9.2", count=3, instances=0)
    # Same day, other product: must not leak into appsmith's row.
    DailyBreakdown.objects.create(product=hasura, day=date(2024, 1, 8), dimension="version", key="v2.40.0",
                                  count=1, instances=1)
    return made


@pytest.mark.django_db
def test_daily_rollups_with_breakdowns(api: APIClient, rollups: dict) -> None:
    listed = results(api.get("/api/v1/rollups/daily/", {"product": "appsmith"}))
    assert [(r["product"], r["day"]) for r in listed] == [("appsmith", "2024-01-08"), ("appsmith", "2024-01-07")]
    newest = listed[0]
    assert newest["active_instances"] == 8 and newest["heartbeats"] == 80 and newest["opt_outs"] == 3
    assert newest["computed_at"] == "2024-01-09T12:00:00Z"
    assert newest["breakdowns"] == {
        "version": [{"key": "v1.9.15", "count": 5, "instances": 5}, {"key": "v1.9.2", "count": 3, "instances": 3}],
        "edition": [], "os": [], "license_type": [],
        "event": [{"key": "APPLICATIONS_PAGE_LOAD", "count": 40, "instances": 4}],
        "country": [{"key": "DE", "count": 6, "instances": 6}, {"key": "", "count": 2, "instances": 2}],
        "opt_out_version": [{"key": "v1.9.2", "count": 3, "instances": 0}],
    }
    assert listed[1]["breakdowns"]["os"] == [{"key": "linux", "count": 7, "instances": 7}]
    assert listed[1]["breakdowns"]["version"] == []
    hasura = results(api.get("/api/v1/rollups/daily/", {"product": "hasura"}))
    assert hasura[0]["breakdowns"]["version"] == [{"key": "v2.40.0", "count": 1, "instances": 1}]


@pytest.mark.django_db
@pytest.mark.parametrize(("params", "expected"), [
    ({"date_from": "2024-01-08"}, [("appsmith", "2024-01-08"), ("hasura", "2024-01-08")]),
    ({"date_to": "2024-01-07"}, [("appsmith", "2024-01-07")]),
    ({"date_from": "2024-01-07", "date_to": "2024-01-07"}, [("appsmith", "2024-01-07")]),
    ({"date_from": "2024-01-09"}, []),
])
def test_daily_rollup_date_filters(api: APIClient, rollups: dict, params: dict, expected: list) -> None:
    assert [(r["product"], r["day"]) for r in results(api.get("/api/v1/rollups/daily/", params))] == expected


@pytest.mark.django_db
def test_daily_rollups_bad_dates_and_query_count(api: APIClient, rollups: dict, product: Product) -> None:
    assert api.get("/api/v1/rollups/daily/", {"date_from": "last week"}).status_code == 400
    few = count_queries(lambda: api.get("/api/v1/rollups/daily/"))
    for n in range(1, 20):
        day = date(2023, 12, n)
        DailyRollup.objects.create(product=product, day=day, computed_at=NOW)
        DailyBreakdown.objects.create(product=product, day=day, dimension="edition", key="ce", count=1, instances=1)
    assert count_queries(lambda: api.get("/api/v1/rollups/daily/")) == few <= 4


@pytest.mark.django_db
def test_reports(api: APIClient, product: Product, make_product) -> None:
    older = Report.objects.create(product=product, period_start=date(2023, 12, 25), period_end=date(2023, 12, 31),
                                  created_at=NOW - timedelta(days=8), content={"active": 3}, body="text",
                                  sent_to="ops@example.com", sent_at=NOW - timedelta(days=8))
    newer = Report.objects.create(product=product, period_start=date(2024, 1, 1), period_end=date(2024, 1, 7),
                                  created_at=NOW)
    other = Report.objects.create(product=make_product("wasp"), kind="on_demand", period_start=date(2024, 1, 1),
                                  period_end=date(2024, 1, 2), created_at=NOW)
    listed = results(api.get("/api/v1/reports/", {"product": "appsmith"}))
    assert [r["id"] for r in listed] == [newer.pk, older.pk]
    assert listed[1] == {"id": older.pk, "product": "appsmith", "kind": "weekly", "period_start": "2023-12-25",
                         "period_end": "2023-12-31", "created_at": "2024-01-01T12:00:00Z", "content": {"active": 3},
                         "body": "text", "sent_to": "ops@example.com", "sent_at": "2024-01-01T12:00:00Z"}
    assert [r["id"] for r in results(api.get("/api/v1/reports/", {"product": "wasp"}))] == [other.pk]
    assert [r["id"] for r in results(api.get("/api/v1/reports/", {"kind": "on_demand"}))] == [other.pk]
    assert api.get(f"/api/v1/reports/{older.pk}/").json() == listed[1]
    assert api.get("/api/v1/reports/", {"kind": "monthly"}).status_code == 400
    assert count_queries(lambda: api.get("/api/v1/reports/")) <= 3
