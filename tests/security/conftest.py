"""Fixtures for staff access: logins through the real admin login view, users limited to products."""

import secrets
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

PASSWORD = "right-pass-123"


def random_address() -> str:
    """A client address (IPv6 documentation range) no other test or run uses, so counts kept in a shared
    cache (Redis) never mix."""
    return f"2001:db8:{secrets.token_hex(2)}:{secrets.token_hex(2)}::{secrets.token_hex(2)}"


def login(client: Client, username: str, password: str, code: str = "", **extra: Any) -> Any:
    return client.post("/admin/login/?next=/admin/", {"username": username, "password": password,
                                                      "otp_token": code}, **extra)


def current_code(device: TOTPDevice, offset: int = 0) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = totp.time + offset * device.step
    return f"{totp.token():0{device.digits}d}"


@pytest.fixture
def make_staff(db: None) -> Callable[..., Any]:
    def make(username: str = "alice", *, superuser: bool = False, perms: bool = True) -> Any:
        user = get_user_model().objects.create_user(username=username, password=PASSWORD, is_staff=True,
                                                    is_superuser=superuser)
        if perms and not superuser:
            user.user_permissions.set(Permission.objects.all())
        return user

    return make


@pytest.fixture
def device(make_staff: Callable[..., Any]) -> TOTPDevice:
    user = make_staff("otp-user")
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)
