"""Optional TOTP second factor: the admin login asks for a code only from users who set one up."""

from typing import Any

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.authtoken.models import Token

from .conftest import PASSWORD, current_code, login, random_address

pytestmark = pytest.mark.django_db


def test_without_a_device_the_password_is_enough(make_staff: Any) -> None:
    make_staff("plain")
    client = Client()
    assert login(client, "plain", PASSWORD, REMOTE_ADDR=random_address()).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_with_a_device_the_code_is_required(device: TOTPDevice) -> None:
    client = Client()
    missing = login(client, "otp-user", PASSWORD, REMOTE_ADDR=random_address())
    assert missing.status_code == 200 and "enter the code from your authenticator app" in missing.content.decode()
    wrong = login(client, "otp-user", PASSWORD, "000000" if current_code(device) != "000000" else "111111",
                  REMOTE_ADDR=random_address())
    assert wrong.status_code == 200 and "not valid" in wrong.content.decode()
    assert client.get("/admin/").status_code == 302

    device.refresh_from_db()
    device.throttle_reset()
    ok = login(client, "otp-user", PASSWORD, current_code(device), REMOTE_ADDR=random_address())
    assert ok.status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_used_code_is_not_accepted_twice(device: TOTPDevice) -> None:
    code = current_code(device)
    assert login(Client(), "otp-user", PASSWORD, code, REMOTE_ADDR=random_address()).status_code == 302
    assert login(Client(), "otp-user", PASSWORD, code, REMOTE_ADDR=random_address()).status_code == 200


def test_wrong_codes_count_towards_the_lockout(device: TOTPDevice, settings: Any) -> None:
    address = random_address()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        login(Client(), "otp-user", PASSWORD, "", REMOTE_ADDR=address)
    assert AccessAttempt.objects.get().failures_since_start == settings.AXES_FAILURE_LIMIT
    assert login(Client(), "otp-user", PASSWORD, current_code(device), REMOTE_ADDR=address).status_code == 429


def test_a_session_not_verified_with_the_device_is_sent_to_the_login(device: TOTPDevice) -> None:
    client = Client()
    client.force_login(device.user)  # e.g. a session from before the device was set up
    response = client.get("/admin/")
    assert response.status_code == 302 and response["Location"].startswith("/admin/login/")
    assert client.get("/api/v1/products/").status_code in (401, 403)
    # A token is a credential of its own: scripts keep working.
    token = Token.objects.create(user=device.user)
    assert Client().get("/api/v1/products/", HTTP_AUTHORIZATION=f"Token {token.key}").status_code == 200


def test_a_staff_user_sets_up_and_removes_their_authenticator(make_staff: Any) -> None:
    user = make_staff("frank")
    client = Client()
    login(client, "frank", PASSWORD, REMOTE_ADDR=random_address())
    page = client.get("/admin/two-factor/")
    assert page.status_code == 200 and "<svg" in page.content.decode()
    pending = TOTPDevice.objects.get(user=user, confirmed=False)
    assert page.context["secret"] and client.get("/admin/two-factor/").context["secret"] == page.context["secret"]

    refused = client.post("/admin/two-factor/", {"action": "confirm", "code": "12"})
    assert refused.status_code == 200 and not TOTPDevice.objects.filter(confirmed=True).exists()
    pending.refresh_from_db()
    pending.throttle_reset()
    done = client.post("/admin/two-factor/", {"action": "confirm", "code": current_code(pending)}, follow=True)
    assert "is <strong>on</strong>" in done.content.decode()
    assert TOTPDevice.objects.get(user=user).confirmed
    assert client.get("/admin/").status_code == 200  # this session was verified by the set-up

    # Next login asks for the code; removing the device takes a current code too.
    without_code = login(Client(), "frank", PASSWORD, REMOTE_ADDR=random_address())
    assert without_code.status_code == 200 and "authenticator app" in without_code.content.decode()
    device = TOTPDevice.objects.get(user=user)
    removed = client.post("/admin/two-factor/", {"action": "remove", "code": current_code(device, offset=1)},
                          follow=True)
    assert "is <strong>off</strong>" in removed.content.decode()
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()
