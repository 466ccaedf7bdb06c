"""Staff in a real browser: log in, read a product's dashboard, open an instance, change its
collection level. The fleet comes from simulate_fleet (the real ingest path) against live_server.
Screenshots: see conftest.py (a temporary folder unless TELEMETRY_UPDATE_SCREENSHOTS=1)."""

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from apps.instances.models import CollectionChange, Instance, InstanceStatus
from apps.instances.page_selectors import instance_versions_seen

from .pages import assert_drawn as _assert_drawn
from .pages import charts as _charts
from .pages import login as _login
from .pages import shoot

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

def test_dashboard_instance_and_collection_change(live_server: Any, browser: Any, screenshot_dir: Path) -> None:
    call_command("simulate_fleet", instances=8, days=30, seed=7, stdout=io.StringIO())
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    _login(page, live_server.url)

    page.click("#fleet-dashboards a:text('Appsmith')")
    page.wait_for_selector("canvas[data-chart=activity]")
    _assert_drawn(_charts(page), {"activity", "versions", "movement", "funnel", "events", "statuses"})
    shoot(page, screenshot_dir, "dashboard-appsmith")

    page.click(".fleet-products a:text('FlowFuse')")
    page.wait_for_selector("canvas[data-chart=licenses]")
    _assert_drawn(_charts(page), {"activity", "versions", "statuses", "licenses", "platforms"})
    shoot(page, screenshot_dir, "dashboard-flowfuse")

    page.click(".fleet-range a:text('7d')")
    page.wait_for_url("**range=7d")
    _assert_drawn(_charts(page), {"activity", "versions", "statuses", "licenses"})

    # An instance that upgraded during the simulation, so its page shows versions over time.
    instance = next(i for i in Instance.objects.filter(product__slug="appsmith", status=InstanceStatus.ACTIVE)
                    .order_by("pk") if len(instance_versions_seen(instance=i)) >= 2)
    page.goto(f"{live_server.url}/admin/instances/instance/{instance.pk}/change/")
    page.wait_for_selector("table[data-testid=events]")
    assert page.locator("table[data-testid=versions] tr").count() >= 3  # a header and two versions
    shoot(page, screenshot_dir, "instance")

    page.select_option("form.collection select[name=level]", "heartbeat")
    page.fill("form.collection textarea[name=reason]", "Customer asked for liveness only")
    page.click("form.collection input[type=submit]")
    page.wait_for_selector("ul.messagelist li.success")
    assert "heartbeat" in page.inner_text("[data-testid=collection]")
    assert "Customer asked for liveness only" in page.inner_text("table[data-testid=collection-history]")
    shoot(page, screenshot_dir, "instance-collection-changed")

    change = CollectionChange.objects.get(instance=instance)
    assert change.changed_by is not None
    assert (change.old, change.new, change.changed_by.username) == ("full", "heartbeat", "browser")
    instance.refresh_from_db()
    assert instance.collection == "heartbeat"
    assert errors == [], f"JavaScript errors: {errors}"


def test_a_chart_that_fails_to_draw_fails_the_check(live_server: Any, browser: Any) -> None:
    """The chart check is not vacuous: a canvas Chart.js never drew is reported."""
    page = browser.new_page()
    page.goto(f"{live_server.url}/static/vendor/chartjs/chart.umd.js")
    page.set_content('<canvas data-chart="activity" width="10" height="10"></canvas>')
    page.add_script_tag(url=f"{live_server.url}/static/vendor/chartjs/chart.umd.js")
    charts = _charts(page)
    with pytest.raises(AssertionError, match="activity was not drawn"):
        _assert_drawn(charts, {"activity"})
