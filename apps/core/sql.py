"""The few differences between PostgreSQL and SQLite that hand-written set-based SQL has to know.

Both databases understand `WITH v(...) AS (VALUES ...)`, `INSERT … ON CONFLICT … RETURNING` and
`UPDATE … FROM`; they differ in casts, GREATEST/LEAST, how datetimes and JSON travel, and how many
parameters one statement may carry.
"""

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from django.db import connection
from django.utils.dateparse import parse_datetime

T = TypeVar("T")


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def cast(expression: str, pg_type: str) -> str:
    """A cast PostgreSQL needs to type a VALUES column or a parameter; SQLite is dynamically typed."""
    return f"CAST({expression} AS {pg_type})" if is_postgres() else expression


def greatest(a: str, b: str) -> str:
    return f"GREATEST({a}, {b})" if is_postgres() else f"max({a}, {b})"


def least(a: str, b: str) -> str:
    return f"LEAST({a}, {b})" if is_postgres() else f"min({a}, {b})"


def table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def column(name: str) -> str:
    return connection.ops.quote_name(name)


def dt_param(value: datetime | None) -> Any:
    """A datetime as the driver wants it (SQLite: naive UTC text, the way Django stores it)."""
    if value is None:
        return None
    return connection.ops.adapt_datetimefield_value(value)


def dt_result(value: Any) -> datetime | None:
    """A datetime column read with a raw cursor: aware on PostgreSQL, naive UTC (or text) on SQLite."""
    if value is None:
        return None
    parsed = value if isinstance(value, datetime) else parse_datetime(value)
    if parsed is None:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed


def json_param(value: Any) -> str | None:
    return None if value is None else orjson.dumps(value).decode()


def json_result(value: Any) -> Any:
    """JSON read with a raw cursor: Django makes psycopg hand jsonb over as text, SQLite stores text."""
    if value is None or isinstance(value, dict | list):
        return value
    return orjson.loads(value)


def values_rows(row_count: int, placeholders: str) -> str:
    """`(%s, %s), (%s, %s), …` for a multi-row VALUES list."""
    return ", ".join([f"({placeholders})"] * row_count)


def chunks(items: Sequence[T], columns: int) -> Iterator[Sequence[T]]:
    """Slices small enough for one statement's parameter limit (PostgreSQL 65535, SQLite compile-time)."""
    limit = 32_000 if is_postgres() else 30_000
    size = max(1, min(1000, limit // max(columns, 1)))
    for start in range(0, len(items), size):
        yield items[start:start + size]
