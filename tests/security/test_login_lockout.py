"""Admin login lockout (django-axes): what locks, what is stored and logged, how to unlock."""

import io
import logging
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client

from apps.accounts.client import address_key, username_hash

from .conftest import PASSWORD, login, random_address

pytestmark = pytest.mark.django_db


def _fail(client: Client, username: str, times: int, address: str) -> list[int]:
    return [login(client, username, "wrong-pass", REMOTE_ADDR=address).status_code for _ in range(times)]


def test_five_wrong_passwords_lock_the_username_even_for_the_right_one(make_staff: Any, settings: Any) -> None:
    make_staff("alice")
    client, address = Client(), random_address()
    assert _fail(client, "alice", settings.AXES_FAILURE_LIMIT - 1, address) == [200] * 4  # the form again
    locked = login(client, "alice", "wrong-pass", REMOTE_ADDR=address)
    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    # From another address, with the right password: still locked (the username is).
    again = login(Client(), "alice", PASSWORD, REMOTE_ADDR=random_address())
    assert again.status_code == 429
    assert "_auth_user_id" not in Client().session


def test_one_address_trying_many_usernames_is_locked(make_staff: Any, settings: Any) -> None:
    make_staff("bob")
    client, address = Client(), random_address()
    for n in range(settings.AXES_FAILURE_LIMIT):
        login(client, f"guess-{n}", "wrong-pass", REMOTE_ADDR=address)
    assert login(client, "bob", PASSWORD, REMOTE_ADDR=address).status_code == 429
    assert login(Client(), "bob", PASSWORD, REMOTE_ADDR=random_address()).status_code == 302


def test_a_success_before_the_limit_forgets_the_failures(make_staff: Any, settings: Any) -> None:
    make_staff("carol")
    address = random_address()
    _fail(Client(), "carol", settings.AXES_FAILURE_LIMIT - 1, address)
    assert login(Client(), "carol", PASSWORD, REMOTE_ADDR=address).status_code == 302
    assert not AccessAttempt.objects.exists()


def test_only_keyed_hashes_are_stored_and_logged(make_staff: Any, caplog: pytest.LogCaptureFixture) -> None:
    make_staff("dave@example.com")
    caplog.set_level(logging.DEBUG)
    login(Client(), "dave@example.com", "my-secret-guess", REMOTE_ADDR="203.0.113.77")
    attempt = AccessAttempt.objects.get()
    assert attempt.username == username_hash("dave@example.com")
    assert attempt.ip_address.startswith("2001:db8:")
    stored = " ".join(str(value) for value in AccessAttempt.objects.values().get().values())
    logged = caplog.text
    for secret in ("dave@example.com", "203.0.113.77", "my-secret-guess"):
        assert secret not in stored, secret
        assert secret not in logged, secret


def test_the_address_hash_is_stable_and_keyed(rf: Any, settings: Any) -> None:
    first = address_key(rf.get("/", REMOTE_ADDR="203.0.113.77"))
    assert first == address_key(rf.get("/", REMOTE_ADDR="203.0.113.77"))
    assert first != address_key(rf.get("/", REMOTE_ADDR="203.0.113.78"))
    settings.TELEMETRY_HASH_KEY = "another-key"
    assert first != address_key(rf.get("/", REMOTE_ADDR="203.0.113.77"))


def test_behind_a_proxy_the_forwarded_client_counts(rf: Any, settings: Any) -> None:
    settings.AXES_IPWARE_PROXY_COUNT = 1
    settings.AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"]

    def via_proxy(client: str) -> str:
        return address_key(rf.get("/", REMOTE_ADDR="10.0.0.2", HTTP_X_FORWARDED_FOR=f"{client}, 10.0.0.1"))

    assert via_proxy("203.0.113.5") != via_proxy("203.0.113.6")


def test_unlock_login_command_and_admin_action(make_staff: Any, settings: Any) -> None:
    make_staff("erin")
    _fail(Client(), "erin", settings.AXES_FAILURE_LIMIT, random_address())
    assert login(Client(), "erin", PASSWORD, REMOTE_ADDR=random_address()).status_code == 429
    call_command("unlock_login", "erin", stdout=io.StringIO())
    assert login(Client(), "erin", PASSWORD, REMOTE_ADDR=random_address()).status_code == 302

    _fail(Client(), "erin", settings.AXES_FAILURE_LIMIT, random_address())
    admin = Client()
    admin.force_login(make_staff("root", superuser=True))
    user = get_user_model().objects.get(username="erin")
    response = admin.post("/admin/auth/user/", {"action": "unlock_login", "_selected_action": [user.pk]},
                          follow=True)
    assert "Cleared" in response.content.decode()
    assert login(Client(), "erin", PASSWORD, REMOTE_ADDR=random_address()).status_code == 302
