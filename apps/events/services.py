"""Writes to the event store."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from apps.core import sql
from apps.events.models import Event


@dataclass(frozen=True, slots=True)
class EventRow:
    instance_pk: int | None
    kind: str
    name: str
    message_id: str
    timestamp: datetime
    properties: dict[str, Any]


def events_insert(*, product_id: int, rows: Sequence[EventRow], received_at: datetime) -> set[str]:
    """Insert events whose message id is new for the product; return the message ids actually stored.

    `ON CONFLICT DO NOTHING … RETURNING` makes the unique constraint the dedupe: a retried request,
    or two identical requests racing, store each message once and both learn which were new.
    Rows are sorted by message id so concurrent batches take index locks in one order.
    """
    if not rows:
        return set()
    ordered = sorted(rows, key=lambda row: row.message_id)
    columns = ", ".join(sql.column(name) for name in (
        "product_id", "instance_id", "kind", "name", "message_id", "timestamp", "received_at", "properties"))
    placeholders = f"%s, %s, %s, %s, %s, %s, %s, {sql.cast('%s', 'jsonb')}"
    received = sql.dt_param(received_at)
    stored: set[str] = set()
    with connection.cursor() as cursor:
        for chunk in sql.chunks(ordered, 8):
            params: list[Any] = []
            for row in chunk:
                params += [product_id, row.instance_pk, row.kind, row.name, row.message_id,
                           sql.dt_param(row.timestamp), received, sql.json_param(row.properties)]
            cursor.execute(
                f"INSERT INTO {sql.table(Event)} ({columns}) VALUES {sql.values_rows(len(chunk), placeholders)} "
                f"ON CONFLICT (product_id, message_id) DO NOTHING RETURNING message_id",
                params,
            )
            stored.update(message_id for (message_id,) in cursor.fetchall())
    return stored
