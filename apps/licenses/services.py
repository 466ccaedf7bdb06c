"""Writes to the licence registry."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from apps.core import sql
from apps.licenses.models import License


@dataclass(frozen=True, slots=True)
class LicenseSeen:
    type: str
    first_seen: datetime
    last_seen: datetime


def licenses_upsert(*, product_id: int, seen: Mapping[str, LicenseSeen], now: datetime) -> dict[str, int]:
    """Create or refresh the licences seen in pings; returns licence id → row id.

    One statement for all of them. The type follows the latest sighting, so a licence upgraded
    from DEV to ENTERPRISE shows its new type while an old delayed ping cannot undo that.
    """
    if not seen:
        return {}
    t = sql.table(License)
    ts = sql.cast("%s", "timestamptz")
    params: list[Any] = []
    for license_id in sorted(seen):
        item = seen[license_id]
        params += [product_id, license_id, item.type, sql.dt_param(item.first_seen), sql.dt_param(item.last_seen),
                   sql.dt_param(now), sql.dt_param(now)]
    statement = f"""
        INSERT INTO {t} (product_id, license_id, type, first_seen, last_seen, created_at, updated_at)
        VALUES {sql.values_rows(len(seen), f"%s, %s, %s, {ts}, {ts}, {ts}, {ts}")}
        ON CONFLICT (product_id, license_id) DO UPDATE SET
            type = CASE WHEN excluded.type <> '' AND excluded.last_seen >= {t}.last_seen
                        THEN excluded.type ELSE {t}.type END,
            first_seen = {sql.least(f"{t}.first_seen", "excluded.first_seen")},
            last_seen = {sql.greatest(f"{t}.last_seen", "excluded.last_seen")},
            updated_at = excluded.updated_at
        RETURNING id, license_id"""
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return {license_id: pk for pk, license_id in cursor.fetchall()}
