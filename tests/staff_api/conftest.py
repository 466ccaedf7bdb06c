"""Fixtures for the staff API: token-authenticated clients and a small fleet with everything linked."""

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.events.models import Event
from apps.instances.models import Installation, Instance
from apps.licenses.models import License
from apps.products.models import Product

NOW = datetime(2024, 1, 9, 12, 0, tzinfo=UTC)


def token_client(user: Any) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


@pytest.fixture
def api(staff_user: Any) -> APIClient:
    """A staff member's client, authenticated by token as scripts are."""
    return token_client(staff_user)


@pytest.fixture
def member_client(db: None) -> APIClient:
    """An authenticated user who is not staff."""
    user = get_user_model().objects.create_user(username="member", password="member-pass-123")
    return token_client(user)


@pytest.fixture
def make_instance(product: Product) -> Callable[..., Instance]:
    def make(instance_id: str, **fields: Any) -> Instance:
        fields.setdefault("product", product)
        fields.setdefault("first_seen", NOW - timedelta(days=10))
        fields.setdefault("last_seen", NOW)
        return Instance.objects.create(instance_id=instance_id, **fields)

    return make


@pytest.fixture
def make_event(product: Product) -> Callable[..., Event]:
    counter = iter(range(1_000_000))

    def make(instance: Instance | None, name: str = "APPLICATIONS_PAGE_LOAD", **fields: Any) -> Event:
        fields.setdefault("product", instance.product if instance else product)
        fields.setdefault("timestamp", NOW)
        fields.setdefault("received_at", fields["timestamp"])
        fields.setdefault("message_id", f"msg-{next(counter)}")
        return Event.objects.create(instance=instance, name=name, **fields)

    return make


@pytest.fixture
def licensed_instance(product: Product, make_instance: Callable[..., Instance]) -> Instance:
    licence = License.objects.create(product=product, license_id="lic-9f2", type="enterprise",
                                     first_seen=NOW - timedelta(days=5), last_seen=NOW)
    return make_instance("609ce8fb4092701c69df9846", license=licence, version="v1.9.15", edition="ee",
                         os="linux", arch="x86_64", country="DE", status="active",
                         metrics={"heartbeat": {"users": 12}})


@pytest.fixture
def installation(product: Product, licensed_instance: Instance) -> Installation:
    return Installation.objects.create(product=product, install_id="anon-7", status="succeeded", os="ubuntu",
                                       started_at=NOW - timedelta(minutes=5), finished_at=NOW, last_seen=NOW,
                                       instance=licensed_instance)


def count_queries(call: Callable[[], Any]) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured.captured_queries)
