"""Staff find the answer-signing keys from the admin home, in Chromium."""

from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from apps.ingest.signing_keys import keyring

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

PASSWORD = "browser-pass-123"


def test_signing_keys_page(live_server: Any, browser: Any, tmp_path: Path) -> None:
    get_user_model().objects.create_superuser("browser", "browser@example.com", PASSWORD)
    page = browser.new_page(viewport={"width": 1440, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "browser")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.click("#answer-signing th a")
    page.wait_for_selector("#signing-keys")
    rows = page.locator("#signing-keys tbody tr")
    assert rows.count() == 1
    assert keyring().kid in rows.first.inner_text() and "signs answers" in rows.first.inner_text()
    page.screenshot(path=str(tmp_path / "signing-keys.png"), full_page=True)  # outside the checkout
    page.click("#content-main a[href$='/api/v1/signing-keys']")
    assert keyring().signing.x in page.content()
    assert not errors
