"""Every admin page answers within a fixed number of queries, whatever the size of the fleet.

Two fleets live side by side: a small one (2 instances, 3 days of rollups) and a large one (60
instances, 90 days). Each page is opened for both: both must stay under the page's bound, and both
must cost exactly the same number of queries, which catches a query per row before it grows.
"""

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from apps.events.models import Event
from tests.admin_fleet import Fleet, build_fleet

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

Page = Callable[[Fleet], str]

# Every page includes one query of the admin site: whether the user has a second factor (apps/accounts).
PAGES: dict[str, tuple[Page, int]] = {
    "index": (lambda f: "/admin/", 6),
    "fleet-overview": (lambda f: "/admin/fleet/", 8),
    "dashboard": (lambda f: f"/admin/fleet/{f.product.slug}/", 18),
    "dashboard-year": (lambda f: f"/admin/fleet/{f.product.slug}/?range=1y", 18),
    "dashboard-two-years": (lambda f: f"/admin/fleet/{f.product.slug}/?from=2023-03-01&to=2025-03-01", 18),
    "dashboard-dates": (lambda f: f"/admin/fleet/{f.product.slug}/?from=2025-01-01&to=2025-02-15", 18),
    "dashboard-live": (lambda f: f"/admin/fleet/{f.product.slug}/live.json", 6),
    "instances-version": (lambda f: f"/admin/instances/instance/?product__id__exact={f.product.pk}&version=v1.9", 10),
    "instances-version-search": (lambda f: "/admin/instances/instance/?q=1.9.x", 10),
    "instances-license-type": (lambda f: "/admin/instances/instance/?license_type=(none)", 10),
    "instance-erase": (lambda f: f"/admin/instances/instance/{f.instances[-1].pk}/delete/", 6),
    "installations-error": (lambda f: "/admin/instances/installation/?status__exact=failed&error=port", 8),
    "notice-reach": (lambda f: f"/admin/products/notice/reach/?product={f.product.pk}&max_version=v1.9.56", 6),
    "product-delete": (lambda f: f"/admin/products/product/{f.product.pk}/delete/", 10),
    "instances": (lambda f: f"/admin/instances/instance/?product__id__exact={f.product.pk}", 10),
    "instances-page-2": (lambda f: f"/admin/instances/instance/?product__id__exact={f.product.pk}&p=2", 10),
    "instances-search": (lambda f: f"/admin/instances/instance/?q={f.instances[0].instance_id}", 10),
    "instance": (lambda f: f"/admin/instances/instance/{f.instances[-1].pk}/change/", 11),
    "instance-older-events": (lambda f: f"/admin/instances/instance/{f.instances[-1].pk}/change/?events=2", 11),
    "installations": (lambda f: f"/admin/instances/installation/?product__id__exact={f.product.pk}", 8),
    "installation": (lambda f: f"/admin/instances/installation/{f.installations[0].pk}/change/", 8),
    "licenses": (lambda f: f"/admin/licenses/license/?product__id__exact={f.product.pk}", 10),
    "license": (lambda f: f"/admin/licenses/license/{f.licenses[0].pk}/change/", 8),
    "events": (lambda f: f"/admin/events/event/?product__id__exact={f.product.pk}", 6),
    "events-recent": (lambda f: f"/admin/events/event/?product__id__exact={f.product.pk}&timestamp_recent=7d", 6),
    "event": (lambda f: f"/admin/events/event/{f.events[0].pk}/change/", 8),
    "releases": (lambda f: f"/admin/products/release/?product__id__exact={f.product.pk}", 10),
    "release": (lambda f: f"/admin/products/release/{f.releases[-1].pk}/change/", 10),
    "notices": (lambda f: f"/admin/products/notice/?product__id__exact={f.product.pk}", 8),
    "notice": (lambda f: f"/admin/products/notice/{f.notices[0].pk}/change/", 10),
    "notice-add": (lambda f: "/admin/products/notice/add/", 6),
    "reports": (lambda f: f"/admin/rollups/report/?product__id__exact={f.product.pk}", 10),
    "report": (lambda f: f"/admin/rollups/report/{f.reports[0].pk}/change/", 6),
    "products": (lambda f: "/admin/products/product/", 6),
    "product": (lambda f: f"/admin/products/product/{f.product.pk}/change/", 8),
    "rollups": (lambda f: f"/admin/rollups/dailyrollup/?product__id__exact={f.product.pk}", 10),
    "breakdowns": (lambda f: f"/admin/rollups/dailybreakdown/?product__id__exact={f.product.pk}", 8),
    "status-changes": (lambda f: f"/admin/instances/statuschange/?q={f.instances[-1].instance_id}", 8),
    "collection-changes": (lambda f: "/admin/instances/collectionchange/", 8),
    "erased": (lambda f: "/admin/instances/erasedinstance/", 7),
    "signing-keys": (lambda f: "/admin/signing-keys/", 5),
}


@pytest.fixture
def fleets(db: None) -> tuple[Fleet, Fleet]:
    return (build_fleet(size=2, days=3, now=NOW, slug="small"),
            build_fleet(size=60, days=90, now=NOW, slug="large"))


def _queries(client: Client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured)


@pytest.mark.parametrize("name", list(PAGES))
def test_admin_page_costs_a_fixed_number_of_queries(name: str, fleets: tuple[Fleet, Fleet], staff_user,
                                                    client: Client) -> None:
    client.force_login(staff_user)
    page, bound = PAGES[name]
    client.get(page(fleets[0]))  # warm process-wide caches (content types) so both measures compare
    small, large = (_queries(client, page(fleet)) for fleet in fleets)
    assert large <= bound, f"{name}: {large} queries > {bound}"
    assert small == large, f"{name}: {small} queries for a small fleet, {large} for a large one"


def test_every_event_page_is_bounded_by_max_num_queries(fleets: tuple[Fleet, Fleet], staff_user, client: Client,
                                                        django_assert_max_num_queries) -> None:
    """The instance page with many events: the event list is one page, never the whole history."""
    client.force_login(staff_user)
    large = fleets[1]
    instance = large.instances[-1]
    Event.objects.bulk_create(
        Event(product=large.product, instance=instance, name="login", message_id=f"extra-{n}", timestamp=NOW,
              received_at=NOW) for n in range(200))
    with django_assert_max_num_queries(11):
        response = client.get(f"/admin/instances/instance/{instance.pk}/change/")
    assert response.status_code == 200
    assert len(response.context["events"].rows) == 20
    assert response.context["events"].has_older


CSV_LISTS = ["instances/instance", "instances/installation", "events/event", "licenses/license", "products/product",
             "products/release", "products/notice", "rollups/dailyrollup", "rollups/dailybreakdown",
             "rollups/report", "instances/statuschange", "instances/collectionchange", "instances/erasedinstance"]


@pytest.mark.parametrize("model", CSV_LISTS)
def test_every_list_exports_csv_in_a_fixed_number_of_queries(model: str, fleets: tuple[Fleet, Fleet], staff_user,
                                                              client: Client) -> None:
    client.force_login(staff_user)
    listing = client.get(f"/admin/{model}/")
    assert f'href="/admin/{model}/export.csv' in listing.content.decode()
    counts = []
    for fleet in fleets:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"/admin/{model}/export.csv?product__id__exact={fleet.product.pk}"
                                  if model not in ("products/product", "instances/statuschange",
                                                   "instances/collectionchange") else f"/admin/{model}/export.csv")
            assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
            body = response.getvalue().decode()
        counts.append(len(captured))
        assert body.splitlines()[0]
    assert counts[0] == counts[1], f"{model}: {counts}"
