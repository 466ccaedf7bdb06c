"""Wrong staff API tokens are throttled per client address; a right token from a throttled address too."""

from typing import Any
from unittest import mock

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from .conftest import random_address

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def low_rate(settings: Any) -> None:
    settings.TELEMETRY_TOKEN_FAILURE_RATE = "3/min"


def _get(token: str, address: str) -> Any:
    return APIClient().get("/api/v1/products/", HTTP_AUTHORIZATION=f"Token {token}", REMOTE_ADDR=address)


def test_wrong_tokens_get_429_after_the_rate_even_with_the_right_one(staff_user: Any) -> None:
    good = Token.objects.create(user=staff_user).key
    address = random_address()
    assert [_get(f"wrong-{n}", address).status_code for n in range(3)] == [401, 401, 401]
    throttled = _get("wrong-4", address)
    assert throttled.status_code == 429
    assert throttled.json()["code"] == "throttled" and int(throttled["Retry-After"]) > 0
    assert _get(good, address).status_code == 429
    # Another address is not affected, and no token at all is a plain 401.
    assert _get(good, random_address()).status_code == 200
    assert APIClient().get("/api/v1/products/", REMOTE_ADDR=address).status_code == 401


def test_right_tokens_are_never_counted(staff_user: Any) -> None:
    good = Token.objects.create(user=staff_user).key
    address = random_address()
    assert all(_get(good, address).status_code == 200 for _ in range(6))


def test_the_cache_holds_no_address(staff_user: Any) -> None:
    address = random_address()
    with mock.patch.object(cache, "set", wraps=cache.set) as stored:
        _get("wrong", address)
    keys = [call.args[0] for call in stored.call_args_list]
    assert keys and all(address not in key for key in keys)


def test_a_cache_outage_fails_open(staff_user: Any) -> None:
    good = Token.objects.create(user=staff_user).key
    with mock.patch.object(cache, "get", side_effect=ConnectionError("redis down")), \
            mock.patch.object(cache, "set", side_effect=ConnectionError("redis down")):
        assert _get("wrong", random_address()).status_code == 401
        assert _get(good, random_address()).status_code == 200
