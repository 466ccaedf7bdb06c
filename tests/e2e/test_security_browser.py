"""Staff access in a real browser: the login locks after repeated wrong passwords, a staff user with an
authenticator logs in with a code, and no page of the admin, the fleet dashboard or the API docs has
anything blocked by the Content-Security-Policy."""

import io
from pathlib import Path
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django_otp.plugins.otp_totp.models import TOTPDevice

from apps.instances.models import Instance
from apps.products.models import Product
from tests.security.conftest import current_code

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "browser-pass-123"
# Every violation the page reports, and every console line about the policy.
WATCH_CSP = """window.__csp = [];
document.addEventListener("securitypolicyviolation",
  (e) => window.__csp.push(
    `${e.violatedDirective} blocked ${e.blockedURI || "inline"} in ${e.sourceFile || location.pathname}`));"""


def _submit_login(page: Any, base: str, username: str, password: str, code: str = "") -> None:
    page.goto(f"{base}/admin/login/?next=/admin/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    if code:
        page.fill("#id_otp_token", code)
    with page.expect_navigation():
        page.click("input[type=submit]")


def test_login_locks_after_repeated_wrong_passwords(live_server: Any, browser: Any, screenshot_dir: Path) -> None:
    get_user_model().objects.create_user("locked", password=PASSWORD, is_staff=True)
    page = browser.new_page()
    for attempt in range(settings.AXES_FAILURE_LIMIT - 1):
        _submit_login(page, live_server.url, "locked", f"wrong-{attempt}")
        assert "Please enter the correct username and password" in page.inner_text(".errornote")
    _submit_login(page, live_server.url, "locked", "wrong-last")
    page.wait_for_selector("[data-testid=login-locked]")
    page.screenshot(path=str(screenshot_dir / "login-locked.png"), full_page=True)

    # The right password no longer opens the admin.
    _submit_login(page, live_server.url, "locked", PASSWORD)
    assert page.locator("[data-testid=login-locked]").count() == 1
    page.goto(f"{live_server.url}/admin/")
    assert "/admin/login/" in page.url
    attempt = AccessAttempt.objects.get()
    assert attempt.username != "locked" and attempt.ip_address.startswith("2001:db8:")


def test_totp_login_for_a_staff_user_with_a_device(live_server: Any, browser: Any, screenshot_dir: Path) -> None:
    user = get_user_model().objects.create_superuser("totp", "totp@example.com", PASSWORD)
    device = TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
    page = browser.new_page()
    _submit_login(page, live_server.url, "totp", PASSWORD)  # no code
    assert "enter the code from your authenticator app" in page.inner_text(".errornote")
    page.screenshot(path=str(screenshot_dir / "login-code-required.png"), full_page=True)
    assert "/admin/login/" in page.url

    _submit_login(page, live_server.url, "totp", PASSWORD, current_code(device))
    page.wait_for_selector("#fleet-dashboards")
    page.goto(f"{live_server.url}/admin/two-factor/")
    assert "is on" in page.inner_text("[data-testid=two-factor-status]")


def test_a_staff_user_sets_up_an_authenticator_in_the_browser(live_server: Any, browser: Any,
                                                               screenshot_dir: Path) -> None:
    get_user_model().objects.create_user("enrol", password=PASSWORD, is_staff=True)
    page = browser.new_page()
    _submit_login(page, live_server.url, "enrol", PASSWORD)
    page.click("a:text('Two-factor authentication')")
    page.wait_for_selector(".qr-code svg")
    page.screenshot(path=str(screenshot_dir / "two-factor-setup.png"), full_page=True)
    device = TOTPDevice.objects.get(user__username="enrol", confirmed=False)
    page.fill("#id_code", current_code(device))
    page.click("input[type=submit]")
    page.wait_for_selector("ul.messagelist li.success")
    assert TOTPDevice.objects.get(user__username="enrol").confirmed


def test_nothing_is_blocked_by_the_content_security_policy(live_server: Any, browser: Any,
                                                           screenshot_dir: Path) -> None:
    call_command("simulate_fleet", instances=3, days=7, seed=3, stdout=io.StringIO())
    get_user_model().objects.create_superuser("csp", "csp@example.com", PASSWORD)
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.add_init_script(WATCH_CSP)
    console: list[str] = []
    page.on("console", lambda message: console.append(message.text))
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    _submit_login(page, live_server.url, "csp", PASSWORD)
    product = Product.objects.get(slug="appsmith")
    instance = Instance.objects.filter(product=product).first()
    assert instance is not None
    pages = {
        "/admin/": "#fleet-dashboards",
        f"/admin/fleet/{product.slug}/": "canvas[data-chart=activity]",
        "/admin/instances/instance/": "#result_list",
        f"/admin/instances/instance/{instance.pk}/change/": "table[data-testid=events]",
        f"/admin/products/product/{product.pk}/change/": "#product_form",
        "/admin/products/notice/add/": "#notice_form",
        "/admin/two-factor/": ".qr-code svg",
        "/api/docs/": ".swagger-ui .info",
        "/api/v1/": "body",
    }
    violations: dict[str, list[str]] = {}
    for path, ready in pages.items():
        page.goto(f"{live_server.url}{path}")
        page.wait_for_selector(ready)
        page.wait_for_load_state("load")
        page.wait_for_timeout(200)  # violations are reported asynchronously
        found = page.evaluate("window.__csp")
        if found:
            violations[path] = found
    page.goto(f"{live_server.url}/admin/fleet/{product.slug}/")
    page.wait_for_function("() => window.Chart && Chart.getChart(document.querySelector('canvas[data-chart]'))")
    page.goto(f"{live_server.url}/api/docs/")
    page.wait_for_selector(".swagger-ui .opblock")
    page.screenshot(path=str(screenshot_dir / "api-docs-under-csp.png"))
    assert violations == {}, violations
    assert not [line for line in console if "Content Security Policy" in line], console
    assert errors == [], errors
    # The watch is not blind: an inline script on one of these pages is reported.
    page.evaluate("document.body.appendChild(Object.assign(document.createElement('script'), "
                  "{textContent: 'window.ran = true'}))")
    page.wait_for_function("() => window.__csp.length > 0")
    assert page.evaluate("window.ran === undefined")
