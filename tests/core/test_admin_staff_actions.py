"""What staff do in the admin: drill-down filters, erasure as delete, notices published on purpose,
durations that read right, CSV exports that stay data."""

import csv
import io
from datetime import UTC, datetime

import pytest
from django.test import Client

from apps.core.admin_durations import humanize_seconds, split_seconds
from apps.core.admin_export import _cell
from apps.core.admin_filters import version_prefix
from apps.events.models import Event
from apps.instances.models import ErasedInstance, Installation, Instance
from apps.products.models import Notice, Product

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
VERSIONS = ["v1.9.13", "v1.9.56", "1.9.0", "v1.10.0", "1.90.1", "v2.0.0", ""]


@pytest.fixture
def fleet(db: None) -> Product:
    product = Product.objects.create(slug="app", name="App")
    Instance.objects.bulk_create(
        Instance(product=product, instance_id=f"i-{n}", version=version, first_seen=NOW, last_seen=NOW)
        for n, version in enumerate(VERSIONS))
    return product


def _listed(client: Client, query: str) -> set[str]:
    response = client.get(f"/admin/instances/instance/?{query}")
    assert response.status_code == 200
    return {instance.version for instance in response.context["cl"].result_list}


@pytest.mark.parametrize("text", ["1.9", "v1.9", "1.9.x", "V1.9.*", "1.9."])
def test_a_version_prefix_finds_the_line_with_or_without_v(text: str, fleet: Product, staff_user,
                                                            client: Client) -> None:
    client.force_login(staff_user)
    assert _listed(client, f"version={text}") == {"v1.9.13", "v1.9.56", "1.9.0"}
    assert _listed(client, f"q={text}") == {"v1.9.13", "v1.9.56", "1.9.0"}


def test_an_exact_version_and_a_non_version(fleet: Product, staff_user, client: Client) -> None:
    client.force_login(staff_user)
    assert _listed(client, "q=1.9.56") == {"v1.9.56"}
    assert _listed(client, "version=v1.10") == {"v1.10.0"}
    assert _listed(client, "version=garbage") == set()
    assert _listed(client, "q=i-1") == {"v1.9.56"}  # an instance id prefix still works
    assert version_prefix("1.2.3-rc.1") == "1.2.3-rc.1" and version_prefix("latest") is None


def test_license_type_and_blank_slices_drill_down(fleet: Product, staff_user, client: Client) -> None:
    Instance.objects.filter(version="v2.0.0").update(edition="EE")
    client.force_login(staff_user)
    assert _listed(client, "edition=EE") == {"v2.0.0"}
    assert len(_listed(client, "edition=(none)")) == len(VERSIONS) - 1
    assert len(_listed(client, "license_type=(none)")) == len(VERSIONS)


def test_admin_delete_of_an_instance_is_erasure(fleet: Product, staff_user, client: Client) -> None:
    instance = Instance.objects.get(instance_id="i-0")
    Event.objects.bulk_create(Event(product=fleet, instance=instance, name="e", message_id=f"m{n}", timestamp=NOW,
                                    received_at=NOW) for n in range(50))
    client.force_login(staff_user)
    page = client.get(f"/admin/instances/instance/{instance.pk}/delete/").content.decode()
    assert "Reason (required)" in page and "m49" not in page  # no list of events
    refused = client.post(f"/admin/instances/instance/{instance.pk}/delete/", {"reason": " "})
    assert refused.status_code == 200 and Instance.objects.filter(pk=instance.pk).exists()

    done = client.post(f"/admin/instances/instance/{instance.pk}/delete/", {"reason": "ticket 42"})
    assert done.status_code == 302
    erased = ErasedInstance.objects.get()
    assert (erased.reason, erased.erased_by, erased.events_deleted) == ("ticket 42", staff_user, 50)
    assert not Instance.objects.filter(instance_id="i-0").exists()

    # Its next ping is dropped, not a new instance.
    answer = client.post("/api/v1/ingest", {"type": "heartbeat", "instance_id": "i-0", "version": "v1.9.13"},
                         content_type="application/json", HTTP_X_TELEMETRY_KEY=fleet.ingest_key)
    assert answer.status_code < 300
    assert not Instance.objects.filter(instance_id="i-0").exists()


def test_the_instance_list_offers_no_bulk_delete(fleet: Product, staff_user, client: Client) -> None:
    client.force_login(staff_user)
    body = client.get("/admin/instances/instance/").content.decode()
    assert "delete_selected" not in body and "set_collection_level" in body


def test_a_notice_is_a_draft_until_published(fleet: Product, staff_user, client: Client) -> None:
    client.force_login(staff_user)
    form = client.get("/admin/products/notice/add/").content.decode()
    assert 'name="active"' not in form and 'name="_publish"' in form and 'id="notice-reach"' in form
    client.post("/admin/products/notice/add/", {"product": fleet.pk, "level": "security", "title": "Patch",
                                                "max_version": "v1.9.56", "_save": "Save"})
    notice = Notice.objects.get()
    assert notice.active is False

    reach = client.get("/admin/products/notice/reach/", {"product": str(fleet.pk), "max_version": "v1.9.56"}).json()
    assert reach["alive"] == 3 and {v["version"] for v in reach["versions"]} == {"v1.9.13", "v1.9.56", "1.9.0"}
    assert client.get("/admin/products/notice/reach/", {"product": "x"}).status_code == 400

    response = client.post(f"/admin/products/notice/{notice.pk}/change/", {
        "product": fleet.pk, "level": "security", "title": "Patch", "max_version": "v1.9.56", "_publish": "Publish"})
    assert response.status_code == 302
    notice.refresh_from_db()
    assert notice.active is True
    client.post(f"/admin/products/notice/{notice.pk}/change/", {
        "product": fleet.pk, "level": "security", "title": "Patch", "max_version": "v1.9.56", "_unpublish": "x"})
    notice.refresh_from_db()
    assert notice.active is False


def test_durations_are_edited_in_units_and_the_default_is_shown(fleet: Product, staff_user, client: Client) -> None:
    assert split_seconds(2_592_000) == (30, "days") and split_seconds(5400) == (90, "minutes")
    assert humanize_seconds(3600) == "1 hour" and humanize_seconds(None) == "—"
    client.force_login(staff_user)
    page = client.get(f"/admin/products/product/{fleet.pk}/change/").content.decode()
    assert "in force now: 49 hours" in page  # daily heartbeats: twice 24 h, plus 1 h
    assert 'name="dead_after_0" value="30"' in page
    data = {"slug": "app", "name": "App", "latest_version": "", "heartbeat_interval_0": "2",
            "heartbeat_interval_1": "hours", "stale_after_0": "", "stale_after_1": "hours", "dead_after_0": "14",
            "dead_after_1": "days", "heartbeat_events": "[]", "install_events": "{}", "retention_days": "90",
            "report_recipients": "", "releases-TOTAL_FORMS": "0", "releases-INITIAL_FORMS": "0"}
    response = client.post(f"/admin/products/product/{fleet.pk}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else response
    fleet.refresh_from_db()
    assert (fleet.heartbeat_interval, fleet.stale_after, fleet.dead_after) == (7200, None, 14 * 86400)
    listing = client.get("/admin/products/product/").content.decode()
    assert "5 hours (default)" in listing and "14 days" in listing


def test_csv_export_keeps_the_filters_and_neutralises_formulas(fleet: Product, staff_user, client: Client) -> None:
    Installation.objects.create(product=fleet, install_id="a", status="failed", error="=HYPERLINK(1)", os="ubuntu",
                                started_at=NOW, last_seen=NOW)
    Installation.objects.create(product=fleet, install_id="b", status="succeeded", os="ubuntu", started_at=NOW,
                                last_seen=NOW)
    client.force_login(staff_user)
    response = client.get("/admin/instances/installation/export.csv?status__exact=failed")
    rows = list(csv.reader(io.StringIO(response.getvalue().decode())))
    assert rows[0][:3] == ["install_id", "product__slug", "status"]
    assert [row[0] for row in rows[1:]] == ["a"] and "'=HYPERLINK(1)" in rows[1]
    assert _cell("-1") == "'-1" and _cell(None) == "" and _cell(NOW) == NOW.isoformat()
    by_error = client.get("/admin/instances/installation/?status__exact=failed&error=%3DHYP")
    assert [i.install_id for i in by_error.context["cl"].result_list] == ["a"]


def test_a_product_delete_page_counts_instead_of_listing(fleet: Product, staff_user, client: Client) -> None:
    client.force_login(staff_user)
    page = client.get(f"/admin/products/product/{fleet.pk}/delete/").content.decode()
    assert "7 instances" in page and "i-3" not in page


def test_view_site_leads_to_the_fleet_overview_and_pages_have_a_favicon(staff_user, client: Client) -> None:
    client.force_login(staff_user)
    body = client.get("/admin/").content.decode()
    assert 'href="/admin/fleet/"' in body and "telemetry/favicon.svg" in body
