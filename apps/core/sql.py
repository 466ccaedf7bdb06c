"""The few differences between PostgreSQL and SQLite that hand-written set-based SQL has to know.

Both databases understand `WITH v(...) AS (VALUES ...)`, `INSERT … ON CONFLICT … RETURNING` and
`UPDATE … FROM`; they differ in casts, GREATEST/LEAST, how datetimes and JSON travel, and how many
parameters one statement may carry.
"""

from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, timedelta
from functools import cache
from typing import Any, TypeVar

import orjson
from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.utils.dateparse import parse_datetime
from django.utils.duration import duration_microseconds

T = TypeVar("T")


@cache
def is_postgres() -> bool:
    # Cached: called for every statement, and each look-up of `connection` goes through asgiref's Local.
    return connection.vendor == "postgresql"


def cast(expression: str, pg_type: str) -> str:
    """A cast PostgreSQL needs to type a VALUES column or a parameter; SQLite is dynamically typed."""
    return f"CAST({expression} AS {pg_type})" if is_postgres() else expression


def greatest(a: str, b: str) -> str:
    return f"GREATEST({a}, {b})" if is_postgres() else f"max({a}, {b})"


def least(a: str, b: str) -> str:
    return f"LEAST({a}, {b})" if is_postgres() else f"min({a}, {b})"


def table(model: Any) -> str:
    return _quoted(model._meta.db_table, is_postgres())


@cache
def _quoted(name: str, postgres: bool) -> str:
    # Cached (the writer names tables in every statement): `connection.ops` goes through asgiref's
    # Local. The vendor is part of the key because quoting is the backend's.
    return connection.ops.quote_name(name)


def column(name: str) -> str:
    return _quoted(name, is_postgres())


def dt_param(value: datetime | None) -> Any:
    """A datetime as the driver wants it (SQLite: naive UTC text, the way Django stores it)."""
    if value is None:
        return None
    if is_postgres():
        return value  # what Django's PostgreSQL backend does, without the trip through `connection`
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


def rows_cte(name: str, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[Any]]) -> tuple[str, list[Any]]:
    """`name(column, …) AS (…)` for a WITH clause that holds `rows`, and its parameters.

    `columns` are (name, PostgreSQL type). Performance: PostgreSQL gets all rows as one
    JSON array of arrays (orjson, in C), unpacked by the statement, so the statement's text and
    parameter count do not depend on the number of rows: psycopg keeps its parsed form of the
    query (it re-parses in Python any statement of more than 50 parameters or 4 KiB; for a group
    commit of eight heartbeats that was a third of the writer's CPU) and no parameter is adapted
    one by one. SQLite gets a VALUES list. Callers slice `rows` with `chunks(rows, len(columns))`.
    """
    if is_postgres():
        return _json_rows_cte(name, tuple(columns)), [orjson.dumps(rows).decode(), len(rows)]
    names = ", ".join(column_name for column_name, _ in columns)
    placeholders = ", ".join(["%s"] * len(columns))
    return (f"{name}({names}) AS (VALUES {values_rows(len(rows), placeholders)})",
            [value for row in rows for value in row])


@cache
def _json_rows_cte(name: str, columns: tuple[tuple[str, str], ...]) -> str:
    # Cached: the text depends only on the columns, and the writer sends the same few on every heartbeat.
    names = ", ".join(column_name for column_name, _ in columns)
    # The LIMIT (always the number of rows) tells the planner how many rows come: without it
    # a set-returning function counts as 100, and joining 100 rows to a large table plans a
    # sequential scan of it instead of index look-ups.
    fields = ", ".join(f"(r.value->>{i})::{pg_type}" for i, (_, pg_type) in enumerate(columns))
    return f"{name}({names}) AS (SELECT {fields} FROM json_array_elements(%s::json) AS r(value) LIMIT %s)"


def chunks(items: Sequence[T], columns: int) -> Iterator[Sequence[T]]:
    """Slices small enough for one statement's parameter limit (PostgreSQL 65535, SQLite compile-time)."""
    limit = 32_000 if is_postgres() else 30_000
    size = max(1, min(1000, limit // max(columns, 1)))
    for start in range(0, len(items), size):
        yield items[start:start + size]


def binds_server_side() -> bool:
    """True when Django's cursor sends parameters apart from the statement text (PostgreSQL with
    `OPTIONS["server_side_binding"]`): statements may then use binary parameters (`%b`)."""
    db = connections[DEFAULT_DB_ALIAS]
    return db.vendor == "postgresql" and db.settings_dict["OPTIONS"].get("server_side_binding") is True


def date_param(value: date) -> Any:
    """A date as the driver wants it (SQLite: ISO text, the way Django stores it)."""
    return connection.ops.adapt_datefield_value(value)


def plus_seconds(expression: str, seconds: int) -> tuple[str, list[Any]]:
    """SQL for `expression + seconds` on a datetime, and its one parameter.

    On SQLite this is the expression the ORM emits for `F(...) + timedelta`, so the text it writes
    has the ORM's format and compares correctly with rows the ORM wrote.
    """
    if is_postgres():
        return f"{expression} + make_interval(secs => %s)", [seconds]
    sql = connection.ops.combine_duration_expression("+", [expression, "%s"])
    return sql, [duration_microseconds(timedelta(seconds=seconds))]


def json_text(expression: str, key: str) -> str:
    """SQL for the text of `expression`'s top-level `key` ("" when absent); `key` is a constant identifier."""
    if not key.isidentifier():
        raise ValueError(f"not a plain JSON key: {key!r}")
    if is_postgres():
        return f"COALESCE({expression} ->> '{key}', '')"
    return f"COALESCE(json_extract({expression}, '$.{key}'), '')"
