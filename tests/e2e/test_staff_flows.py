"""The staff flows of the second pass, in Chromium: fresh and honest dashboards, drill-down from a
chart, the cohort table, the overview, erasure from the admin, a notice published after its live
preview, an empty product's onboarding turning live, the public page, and key columns on screen."""

import io
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.core.admin_filters import version_prefix
from apps.instances.models import ErasedInstance, Instance, InstanceStatus
from apps.products.models import Notice, Product
from tests.admin_fleet import build_fleet

from .pages import assert_drawn, assert_on_screen, charts, login, shoot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

# The pixel of a point of a chart's dataset, in page coordinates (for a real mouse click).
POINT_OF = """([selector, dataset, index]) => {
  const canvas = document.querySelector(selector);
  const point = Chart.getChart(canvas).getDatasetMeta(dataset).data[index];
  const box = canvas.getBoundingClientRect();
  return { x: box.left + point.x, y: box.top + point.y };
}"""


def _page(browser: Any, errors: list[str]) -> Any:
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    page.on("pageerror", lambda error: errors.append(str(error)))
    return page


def test_fleet_pages_drill_down_erase_and_publish(live_server: Any, browser: Any, screenshot_dir: Path) -> None:
    call_command("simulate_fleet", instances=8, days=30, seed=7, stdout=io.StringIO())
    errors: list[str] = []
    page = _page(browser, errors)
    login(page, live_server.url)

    # The overview across products, each with its sparkline, linking to its dashboard.
    page.goto(f"{live_server.url}/admin/fleet/")
    rows = page.locator("table[data-testid=overview] tbody tr")
    assert rows.count() == Product.objects.count() >= 4
    assert page.locator("table[data-testid=overview] svg.sparkline polyline").count() == rows.count()
    shoot(page, screenshot_dir, "fleet-overview")
    page.click("table[data-testid=overview] a:text('Appsmith')")
    page.wait_for_selector("canvas[data-chart=activity]")

    # Freshness: the rollups' build time, live tiles, and today drawn as a partial (dashed) point.
    freshness = page.inner_text("[data-testid=freshness]")
    assert "figures as of" in freshness and "UTC" in freshness and "today is partial" in freshness
    assert page.locator(".fleet-tile.live").count() == 2
    data = json.loads(page.inner_text("#fleet-data"))
    assert data["partial"] is True and data["activity"]["labels"][-1] == timezone.now().date().isoformat()
    dashed = page.evaluate("""() => {
      const chart = Chart.getChart(document.querySelector("canvas[data-chart=activity]"));
      const meta = chart.getDatasetMeta(0); const last = meta.data.length - 1;
      return [meta.dataset.options.segment !== undefined, chart.data.labels.length, last];
    }""")
    assert dashed[0] and dashed[1] == dashed[2] + 1
    assert_drawn(charts(page), {"activity", "versions", "statuses"})
    cohorts = page.locator("table[data-testid=cohorts] tbody tr")
    assert cohorts.count() >= 1
    assert "%" in page.inner_text("table[data-testid=cohorts] tbody")
    shoot(page, screenshot_dir, "dashboard-appsmith")

    # Rebuild now: queued, and the page says so.
    page.click("[data-testid=rebuild]")
    page.wait_for_selector("ul.messagelist li")
    assert "queued" in page.inner_text("ul.messagelist")

    # Drill-down: a click on a version's area opens the instance list filtered to that version.
    versions = data["versions"]["datasets"]
    target = next(i for i, s in enumerate(versions) if s["version"] not in ("other", "") and s["data"][-2] > 0)
    page.locator("canvas[data-chart=versions]").scroll_into_view_if_needed()
    point = page.evaluate(POINT_OF, ["canvas[data-chart=versions]", target, len(versions[target]["data"]) - 2])
    page.mouse.click(point["x"], point["y"] + 2)
    page.wait_for_url("**/admin/instances/instance/**version=**")
    chosen = parse_qs(urlparse(page.url).query)["version"][0]
    assert chosen in {s["version"] for s in versions}
    listed = page.locator("#result_list td.field-version").all_inner_texts()
    prefix = version_prefix(chosen)
    assert prefix is not None, chosen
    assert listed and all((shown := version_prefix(v)) and shown.startswith(prefix) for v in listed), listed
    # The key columns are on screen at 1440 px (geometry, not screenshots).
    assert_on_screen(page, "#result_list th.column-last_heartbeat")
    assert_on_screen(page, "#result_list td.field-last_heartbeat")
    assert page.locator("[data-testid=csv-export]").count() == 1
    shoot(page, screenshot_dir, "instances-by-version")
    page.goto(f"{live_server.url}/admin/instances/installation/")
    assert_on_screen(page, "#result_list th.column-short_error")
    assert_on_screen(page, "#result_list th.column-started")
    shoot(page, screenshot_dir, "installations")
    page.goto(f"{live_server.url}/admin/events/event/")
    assert_on_screen(page, "#result_list th.column-received")
    shoot(page, screenshot_dir, "events")

    # Erasure from the admin: a reason, an audit row, and the instance's next ping is dropped.
    instance = Instance.objects.filter(product__slug="appsmith", status=InstanceStatus.ACTIVE).order_by("pk").first()
    assert instance is not None
    page.goto(f"{live_server.url}/admin/instances/instance/{instance.pk}/change/")
    page.click("a.deletelink")
    page.wait_for_selector("[data-testid=erase-form]")
    shoot(page, screenshot_dir, "instance-erase")
    page.fill("[data-testid=erase-form] textarea[name=reason]", "Customer asked to be forgotten")
    page.click("[data-testid=erase-form] input[type=submit]")
    page.wait_for_selector("ul.messagelist li.success")
    assert ErasedInstance.objects.get().reason == "Customer asked to be forgotten"
    answer = page.request.post(f"{live_server.url}/api/v1/ingest", data=json.dumps(
        {"type": "heartbeat", "instance_id": instance.instance_id, "version": instance.version}),
        headers={"X-Telemetry-Key": instance.product.ingest_key, "Content-Type": "application/json"})
    assert answer.ok
    assert not Instance.objects.filter(product=instance.product, instance_id=instance.instance_id).exists()

    # A notice: drafted, its reach previewed live while typing, then published through its button.
    product = Product.objects.get(slug="appsmith")
    page.goto(f"{live_server.url}/admin/products/notice/add/")
    page.select_option("select[name=product]", str(product.pk))
    page.select_option("select[name=level]", "security")
    page.fill("input[name=title]", "Upgrade now")
    page.fill("input[name=max_version]", "v9")
    page.wait_for_function("() => /\\d+ instance\\(s\\) still pinging/.test("
                           "document.querySelector('[data-testid=reach-live]').textContent)")
    assert "still pinging are in this range" in page.inner_text("[data-testid=reach-live]")
    shoot(page, screenshot_dir, "notice-add")
    page.click("input[name=_save]")
    page.wait_for_selector("ul.messagelist li.success")
    notice = Notice.objects.get(title="Upgrade now")
    assert notice.active is False
    page.goto(f"{live_server.url}/admin/products/notice/{notice.pk}/change/")
    assert "draft" in page.inner_text("[data-testid=notice-state]")
    page.click("[data-testid=publish]")
    page.wait_for_selector("[data-testid=unpublish]")
    notice.refresh_from_db()
    assert notice.active is True
    shoot(page, screenshot_dir, "notice-published")
    assert errors == [], f"JavaScript errors: {errors}"


def test_an_empty_product_turns_live_on_its_first_ping(live_server: Any, browser: Any, screenshot_dir: Path) -> None:
    product = Product.objects.create(slug="newcomer", name="Newcomer")
    errors: list[str] = []
    page = _page(browser, errors)
    login(page, live_server.url)
    page.goto(f"{live_server.url}/admin/fleet/newcomer/")
    page.wait_for_selector("[data-testid=onboarding]")
    assert product.ingest_key in page.inner_text("[data-testid=snippet-curl]")
    shoot(page, screenshot_dir, "onboarding")
    answer = page.request.post(f"{live_server.url}/api/v1/ingest", data=json.dumps(
        {"type": "heartbeat", "instance_id": "first-one", "version": "1.0.0"}),
        headers={"X-Telemetry-Key": product.ingest_key, "Content-Type": "application/json"})
    assert answer.ok
    page.wait_for_selector("[data-testid=onboarding]", state="detached", timeout=15_000)
    assert page.inner_text("[data-live=alive]") == "1"
    assert page.inner_text("[data-live=new_today]") == "1"
    assert errors == [], f"JavaScript errors: {errors}"


def test_the_public_page_needs_no_login(live_server: Any, browser: Any, screenshot_dir: Path) -> None:
    fleet = build_fleet(size=40, days=60, now=timezone.now(), slug="opened")
    Product.objects.filter(pk=fleet.product.pk).update(public_stats=True)
    errors: list[str] = []
    page = _page(browser, errors)
    page.goto(f"{live_server.url}/stats/opened/?range=90d")
    page.wait_for_function("() => window.Chart && Chart.getChart(document.getElementById('public-active'))")
    assert page.inner_text("[data-testid=active-now]") == "40"
    assert "login" not in page.url
    assert page.locator("table[data-testid=public-version] tr").count() >= 1
    assert page.evaluate("() => document.querySelector('footer img').naturalWidth") > 0  # the badge rendered
    shoot(page, screenshot_dir, "public-stats")
    assert page.request.get(f"{live_server.url}/stats/appsmith/").status == 404
    assert errors == [], f"JavaScript errors: {errors}"
