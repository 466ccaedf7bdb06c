"""Datetime helpers for hand-written SQL (scheduled jobs) that must run on PostgreSQL and SQLite alike.

Raw cursors do not apply Django's field adapters, so datetimes and dates pass through these to
be stored and compared exactly as the ORM stores them (SQLite keeps naive UTC text).
"""

from datetime import date, datetime, timedelta

from django.db import connection
from django.utils.duration import duration_microseconds


def is_postgres() -> bool:
    return connection.vendor == "postgresql"


def db_datetime(value: datetime) -> object:
    return connection.ops.adapt_datetimefield_value(value)


def db_date(value: date) -> object:
    return connection.ops.adapt_datefield_value(value)


def plus_seconds(column: str, seconds: int) -> tuple[str, list[object]]:
    """SQL for `column + seconds` on a datetime column, and its one parameter.

    On SQLite this is the same expression the ORM emits for `F(column) + timedelta`, so the text
    it writes has the ORM's format and compares correctly with rows the ORM wrote.
    """
    if is_postgres():
        return f"{column} + make_interval(secs => %s)", [seconds]
    sql = connection.ops.combine_duration_expression("+", [column, "%s"])
    return sql, [duration_microseconds(timedelta(seconds=seconds))]
