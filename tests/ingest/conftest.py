"""Fixtures for ingest tests: the four seed products, their seed payloads, and a poster."""

import base64
import gzip
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest
import time_machine
from django.test import Client

from apps.products.models import Product

SEEDS = Path(__file__).parent / "seeds"
NOW = datetime(2024, 1, 10, 12, 0, tzinfo=UTC)
SENDER = "198.51.100.7"  # the request's address unless a test says otherwise


@pytest.fixture
def clock() -> Iterator[time_machine.Traveller]:
    """Time frozen at NOW; `clock.shift(...)` moves it."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


def seed(name: str) -> Any:
    return json.loads((SEEDS / f"{name}.json").read_text())


@pytest.fixture
def appsmith(make_product: Callable[..., Product]) -> Product:
    return make_product("appsmith", name="Appsmith", heartbeat_interval=2 * 3600, latest_version="v1.9.56")


@pytest.fixture
def hasura(make_product: Callable[..., Product]) -> Product:
    return make_product("hasura", name="Hasura", heartbeat_interval=24 * 3600, latest_version="v2.23.0")


@pytest.fixture
def flowfuse(make_product: Callable[..., Product]) -> Product:
    return make_product("flowfuse", name="FlowFuse", heartbeat_interval=24 * 3600, latest_version="1.2.0")


@pytest.fixture
def wasp(make_product: Callable[..., Product]) -> Product:
    return make_product("wasp", name="Wasp", heartbeat_interval=12 * 3600, latest_version="0.2.0",
                        heartbeat_events=["cli"], install_events={"install": "succeeded"})


Post = Callable[..., Any]


@pytest.fixture
def post(client: Client) -> Post:
    """POST a JSON body; the key goes in X-Telemetry-Key unless `key=None` (then the body must carry it)."""

    def send(path: str, body: Any, *, key: str | None, gzipped: bool = False, raw: bytes | None = None,
             remote_addr: str = SENDER, **headers: Any) -> Any:
        data = raw if raw is not None else orjson.dumps(body)
        if gzipped:
            data = gzip.compress(data)
            headers["HTTP_CONTENT_ENCODING"] = "gzip"
        if key is not None:
            headers.setdefault("HTTP_X_TELEMETRY_KEY", key)
        return client.post(path, data=data, content_type="application/json", REMOTE_ADDR=remote_addr, **headers)

    return send


def basic(key: str) -> str:
    return "Basic " + base64.b64encode(f"{key}:".encode()).decode()
