"""The dark fleet and countries panels, drawn in a real browser from a fleet's rollups."""

import os
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from tests.admin_fleet import build_fleet

from .pages import PASSWORD
from .pages import assert_drawn as _assert_drawn
from .pages import charts as _charts

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_dark_fleet_and_countries_are_drawn(live_server: Any, browser: Any, tmp_path: Path) -> None:
    fleet = build_fleet(size=20, days=10, now=timezone.now())
    get_user_model().objects.create_superuser("browser", "browser@example.com", PASSWORD)
    page = browser.new_page(viewport={"width": 1440, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.url}/admin/login/?next=/admin/fleet/{fleet.product.slug}/?range=7d")
    page.fill("#id_username", "browser")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("canvas[data-chart=darkfleet]")
    _assert_drawn(_charts(page), {"activity", "darkfleet", "countries"})
    assert "opt-outs in this range" in page.inner_text("#dark-fleet")
    assert "IT" in page.evaluate("() => Chart.getChart(document.querySelector('canvas[data-chart=countries]'))"
                                 ".data.labels")
    page.screenshot(path=str(Path(os.environ.get("FLEET_DATA_SCREENSHOTS", tmp_path)) / "fleet-data.png"),
                    full_page=True)
    assert errors == []
