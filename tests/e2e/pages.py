"""Steps the browser tests share: log in, read the charts, check where elements sit."""

from pathlib import Path
from typing import Any

from django.contrib.auth import get_user_model

PASSWORD = "browser-pass-123"
# What each canvas's chart must hold: its name on the page (data-chart) → at least one positive value.
CHART_STATE = """() => [...document.querySelectorAll("canvas[data-chart]")].map((canvas) => {
  const chart = Chart.getChart(canvas);
  const values = chart ? chart.data.datasets.flatMap((d) => d.data).map((v) => Math.abs(Number(v)) || 0) : [];
  return { name: canvas.dataset.chart, drawn: !!chart && canvas.width > 0 && canvas.height > 0,
           points: values.length, total: values.reduce((a, b) => a + b, 0) };
})"""


def login(page: Any, base: str, *, username: str = "browser") -> None:
    get_user_model().objects.create_superuser(username, f"{username}@example.com", PASSWORD)
    page.goto(f"{base}/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_selector("#fleet-dashboards")


def charts(page: Any) -> dict[str, dict[str, Any]]:
    page.wait_for_function("() => window.Chart !== undefined")
    return {chart["name"]: chart for chart in page.evaluate(CHART_STATE)}


def assert_drawn(drawn: dict[str, dict[str, Any]], expected: set[str]) -> None:
    """Every canvas on the page holds a drawn chart with points; the expected ones show non-zero data
    (a quiet week may legitimately draw a flat "fleet movement")."""
    assert expected <= set(drawn), f"missing charts: {expected - set(drawn)}"
    for name, chart in drawn.items():
        assert chart["drawn"], f"chart {name} was not drawn"
        assert chart["points"] > 0, f"chart {name} has no points: {chart}"
        assert name not in expected or chart["total"] > 0, f"chart {name} shows only zeros: {chart}"


def assert_on_screen(page: Any, selector: str) -> None:
    """The element lies inside the viewport horizontally (no scrolling needed to read it)."""
    box = page.locator(selector).first.bounding_box()
    width = page.viewport_size["width"]
    assert box is not None, f"{selector} is not rendered"
    assert box["x"] >= 0 and box["x"] + box["width"] <= width, f"{selector} at {box} is off a {width} px screen"


def shoot(page: Any, folder: Path, name: str) -> None:
    """The page at 1440 px and 390 px wide (a phone), full length; the viewport is restored after."""
    size = page.viewport_size or {"width": 1440, "height": 1000}
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": size["height"]})
        page.screenshot(path=str(folder / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size(size)
