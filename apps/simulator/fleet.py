"""Drive a simulated fleet through the real ingest endpoints, day by day, in time order.

Product modules (apps/simulator/products/) turn instance plans into timed records in their real
wire formats; this module batches them the way each protocol allows, POSTs them with Django's test
client (the same URL routing, middleware, views and pipeline as a real ping) and checks every answer.
"""

import base64
import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.test import Client

from apps.products.models import Product

BATCH_SIZE = 100


@dataclass(frozen=True)
class Channel:
    """One wire protocol: where it is posted, how the key travels, how records are batched."""

    path: str
    auth: str                 # "basic" (Segment), "body" (PostHog api_key), "query" (?key=), "path" (/<key>)
    batch_key: str | None     # records are merged into {batch_key: [...]}; None: one POST per record


SEGMENT = Channel("/v1/batch", "basic", "batch")
POSTHOG = Channel("/batch/", "body", "batch")
NATIVE = Channel("/api/v1/ingest", "query", "batch")
HASURA = Channel("/api/v1/ingest/hasura", "query", None)
FLOWFUSE = Channel("/api/v1/ingest/flowfuse", "path", None)  # FlowFuse's ping carries no key
WASP = Channel("/api/v1/ingest/wasp", "query", None)


@dataclass(frozen=True)
class Record:
    at: datetime
    channel: Channel
    payload: dict[str, Any]


@dataclass
class SendStats:
    requests: int = 0
    records: int = 0
    refused: int = 0  # records the server refused (a whole request's, or one by index)
    rejected: list[str] = field(default_factory=list)
    per_path: dict[str, int] = field(default_factory=lambda: defaultdict(int))


class IngestUnavailable(RuntimeError):
    pass


class Sender:
    def __init__(self) -> None:
        hosts = [h for h in settings.ALLOWED_HOSTS if h not in ("*", "") and not h.startswith(".")]
        host = "testserver" if "testserver" in settings.ALLOWED_HOSTS or "*" in settings.ALLOWED_HOSTS or not hosts \
            else hosts[0]
        self.client = Client(HTTP_HOST=host, REMOTE_ADDR="203.0.113.10")
        self.stats = SendStats()

    def send(self, product: Product, channel: Channel, payloads: list[dict[str, Any]]) -> None:
        if channel.batch_key is None:
            for payload in payloads:
                self._post(product, channel, payload, 1)
            return
        for i in range(0, len(payloads), BATCH_SIZE):
            chunk = payloads[i:i + BATCH_SIZE]
            self._post(product, channel, {channel.batch_key: chunk}, len(chunk))

    def _post(self, product: Product, channel: Channel, body: dict[str, Any], records: int) -> None:
        path, headers = channel.path, {}
        if channel.auth == "basic":
            token = base64.b64encode(f"{product.ingest_key}:".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        elif channel.auth == "body":
            body = {"api_key": product.ingest_key, **body}
        elif channel.auth == "path":
            path = f"{path}/{product.ingest_key}"
        else:
            path = f"{path}?key={product.ingest_key}"
        response = self.client.post(path, data=json.dumps(body), content_type="application/json", headers=headers)
        self.stats.requests += 1
        self.stats.records += records
        self.stats.per_path[channel.path] += records
        if response.status_code == 404:
            raise IngestUnavailable(f"POST {channel.path} answered 404: the ingest endpoints are not installed")
        if response.status_code != 200:
            self.stats.refused += records
            self.stats.rejected.append(f"{channel.path} {response.status_code}: {response.content[:300]!r}")
            return
        answer = _json(response.content)
        errors = answer.get("errors") if isinstance(answer, dict) else None
        if errors:
            self.stats.refused += len(errors)
            self.stats.rejected.append(f"{channel.path} record errors: {str(errors)[:300]}")


def _json(content: bytes) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return None


def replay(*, sender: Sender, streams: Iterable[tuple[Product, list[Record]]], window_start: datetime,
           now: datetime, on_day_end: Callable[[datetime], None] | None = None) -> None:
    """Send every record in time order, one simulated day at a time; `on_day_end` runs between days
    (the heartbeat checker, so silences and comebacks are seen as they happen)."""
    by_day: dict[datetime, list[tuple[Product, Record]]] = defaultdict(list)
    earliest = window_start.replace(hour=0, minute=0, second=0, microsecond=0)
    for product, records in streams:
        for record in records:
            day = max(record.at, earliest).replace(hour=0, minute=0, second=0, microsecond=0)
            by_day[day].append((product, record))
    for day in sorted(by_day):
        groups: dict[tuple[int, Channel], list[Record]] = defaultdict(list)
        products = {}
        for product, record in sorted(by_day[day], key=lambda pr: pr[1].at):
            groups[(product.pk, record.channel)].append(record)
            products[product.pk] = product
        for (product_pk, channel), records in groups.items():
            sender.send(products[product_pk], channel, [r.payload for r in records])
        if on_day_end is not None:
            on_day_end(min(day + timedelta(days=1), now))
