"""Build a fleet through the real ingest path: native records POSTed to /api/v1/ingest at frozen times.

Only the public ingest contract (issue 3) is used, never ingest internals, so these tests show
what the scheduled jobs make of data exactly as instances send it.
"""

import uuid
from datetime import datetime
from typing import Any

import time_machine
from django.test import Client

from apps.products.models import Product

INGEST_URL = "/api/v1/ingest"


class Fleet:
    def __init__(self, product: Product) -> None:
        self.product = product
        self.client = Client()

    def send(self, at: datetime, *records: dict[str, Any]) -> dict[str, Any]:
        """POST one batch at server time `at`; every record carries `at` as its timestamp."""
        batch = [{"message_id": str(uuid.uuid4()), "timestamp": at.isoformat(), **record} for record in records]
        with time_machine.travel(at, tick=False):
            response = self.client.post(INGEST_URL, {"batch": batch, "sent_at": at.isoformat()},
                                        content_type="application/json",
                                        headers={"X-Telemetry-Key": self.product.ingest_key})
        assert response.status_code == 200, response.content
        return response.json()

    def heartbeat(self, at: datetime, instance_id: str, *, event: str = "FETCH_RELEASE_NOTES",
                  **fields: Any) -> dict[str, Any]:
        return self.send(at, {"type": "heartbeat", "instance_id": instance_id, "event": event, **fields})

    def event(self, at: datetime, instance_id: str, name: str, **fields: Any) -> dict[str, Any]:
        return self.send(at, {"type": "event", "instance_id": instance_id, "event": name, **fields})

    def install(self, at: datetime, install_id: str, step: str, **fields: Any) -> dict[str, Any]:
        return self.send(at, {"type": "install", "install_id": install_id, "step": step, **fields})
