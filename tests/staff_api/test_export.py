import csv
import io
from datetime import timedelta

import pytest
from django.http import StreamingHttpResponse
from django.urls import resolve
from rest_framework.test import APIClient

from apps.instances.models import Instance
from apps.staff_api.views import InstanceExportView

from .conftest import NOW


def rows(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.content
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="instances.csv"'
    return list(csv.DictReader(io.StringIO(response.getvalue().decode())))


def test_the_export_is_not_taken_for_an_instance_id() -> None:
    assert getattr(resolve("/api/v1/instances/export.csv").func, "view_class", None) is InstanceExportView
    assert resolve("/api/v1/instances/12/").url_name == "instance-detail"


@pytest.mark.django_db
def test_export_streams_every_match_with_the_list_filters(api: APIClient, licensed_instance: Instance,
                                                          make_instance) -> None:
    make_instance("old-one", status="dead", last_seen=NOW - timedelta(days=60))
    everything = rows(api.get("/api/v1/instances/export.csv"))
    assert [r["instance_id"] for r in everything] == ["609ce8fb4092701c69df9846", "old-one"]
    first = everything[0]
    assert first == {
        "id": str(licensed_instance.pk), "product": "appsmith", "instance_id": "609ce8fb4092701c69df9846",
        "status": "active", "version": "v1.9.15", "edition": "ee", "os": "linux", "arch": "x86_64", "context": "",
        "collection": "full", "first_seen": "2023-12-30T12:00:00+00:00", "last_seen": "2024-01-09T12:00:00+00:00",
        "license_id": "lic-9f2", "license_type": "enterprise", "heartbeat_count": "0", "dropped_count": "0",
        "country": "DE"}
    assert everything[1]["license_id"] == ""
    dead = rows(api.get("/api/v1/instances/export.csv", {"status": "dead", "product": "appsmith"}))
    assert [r["instance_id"] for r in dead] == ["old-one"]
    assert rows(api.get("/api/v1/instances/export.csv", {"search": "609c"}))[0]["instance_id"] == first["instance_id"]
    assert rows(api.get("/api/v1/instances/export.csv", {"last_seen_before": "2024-01-01"}))[0]["status"] == "dead"


@pytest.mark.django_db
def test_export_is_not_paginated(api: APIClient, make_instance, monkeypatch) -> None:
    monkeypatch.setattr("apps.staff_api.views.export.CHUNK_SIZE", 3)
    for n in range(60):
        make_instance(f"i-{n:03d}")
    assert len(rows(api.get("/api/v1/instances/export.csv"))) == 60


@pytest.mark.django_db
def test_export_defuses_spreadsheet_formulas(api: APIClient, make_instance) -> None:
    make_instance("=HYPERLINK(\"http://evil\")", version="+1", edition="@sum", os="-cmd")
    row = rows(api.get("/api/v1/instances/export.csv"))[0]
    assert row["instance_id"] == "'=HYPERLINK(\"http://evil\")"
    assert (row["version"], row["edition"], row["os"]) == ("'+1", "'@sum", "'-cmd")


@pytest.mark.django_db
def test_export_errors_are_json_whatever_is_accepted(api: APIClient, member_client: APIClient,
                                                     licensed_instance: Instance) -> None:
    bad = api.get("/api/v1/instances/export.csv", {"status": "zombie"}, HTTP_ACCEPT="text/csv")
    assert bad.status_code == 400 and bad.json()["code"] == "invalid"
    assert APIClient().get("/api/v1/instances/export.csv", HTTP_ACCEPT="text/csv").status_code == 401
    assert member_client.get("/api/v1/instances/export.csv").json()["code"] == "permission_denied"
    assert len(rows(api.get("/api/v1/instances/export.csv", HTTP_ACCEPT="text/csv"))) == 1
