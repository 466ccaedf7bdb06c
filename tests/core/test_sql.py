"""apps/core/sql.py: the writer's cursor (server-side binding on PostgreSQL unless something watches) and `rows_cte`."""

from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from django.db import DatabaseError, connection
from django.test.utils import CaptureQueriesContext

from apps.core import sql


@pytest.mark.django_db
def test_binds_server_side_on_postgres_when_nothing_watches() -> None:
    if not sql.is_postgres():
        pytest.skip("SQLite has no server-side binding: the writer uses Django's cursor there")
    assert sql.fast_path()
    with sql.cursor() as cursor:
        assert type(cursor) is psycopg.Cursor  # not Django's client-side binding cursor
        cursor.execute("SELECT %s + 1, %s", [41, "text"])
        assert cursor.fetchone() == (42, "text")


@pytest.mark.django_db
def test_query_counting_sees_the_statements() -> None:
    with CaptureQueriesContext(connection) as queries:
        assert not sql.fast_path()
        with sql.cursor() as cursor:
            cursor.execute("SELECT 1")
    assert [q["sql"] for q in queries.captured_queries] == ["SELECT 1"]


@pytest.mark.django_db
def test_execute_wrappers_see_the_statements() -> None:
    seen: list[str] = []

    def watch(execute: Any, statement: str, params: Any, many: bool, context: Any) -> Any:
        seen.append(statement)
        return execute(statement, params, many, context)

    with connection.execute_wrapper(watch), sql.cursor() as cursor:
        cursor.execute("SELECT 2")
    assert seen == ["SELECT 2"]


@pytest.mark.django_db(transaction=True)
def test_errors_are_django_errors() -> None:
    """The ingest views answer 503 on Django's OperationalError/InterfaceError: the class must not change."""
    with pytest.raises(DatabaseError), sql.cursor() as cursor:
        cursor.execute("SELECT * FROM no_such_table")


@pytest.mark.django_db
@pytest.mark.parametrize("watched", [False, True], ids=["fast path", "django cursor"])
def test_rows_cte_returns_its_rows(watched: bool) -> None:
    columns = (("n", "bigint"), ("word", "text"), ("at", "timestamptz"), ("data", "jsonb"), ("maybe", "text"))
    when = datetime(2024, 1, 10, 12, 0, 0, 123456, tzinfo=UTC)
    rows = [
        (1, "plain", when, {"a": [1, "two", None]}, None),
        (2, "it's \"quoted\", ünïcode; -- not sql", when - timedelta(days=400), {}, "set"),
        (3, "", None, None, ""),
        (-(2**40), "big", when + timedelta(microseconds=1), {"nested": {"x": 1.5}}, None),
    ]
    cte, params = sql.rows_cte("v", columns, [
        (n, word, sql.dt_param(at), sql.json_param(data), maybe) for n, word, at, data, maybe in rows])
    statement = f"WITH {cte} SELECT n, word, at, data, maybe FROM v ORDER BY {sql.cast('n', 'bigint')} DESC"

    def run() -> list[tuple[Any, ...]]:
        with sql.cursor() as cursor:
            cursor.execute(statement, params)
            return list(cursor.fetchall())

    if watched:  # something watches Django's cursors: the statement goes through Django's
        with connection.execute_wrapper(lambda execute, *args: execute(*args)):
            assert not sql.fast_path()
            got = run()
    else:
        got = run()

    assert [(n, word, sql.dt_result(at), sql.json_result(data), maybe) for n, word, at, data, maybe in got] == \
        sorted(rows, key=lambda row: row[0], reverse=True)
    assert len(params) == (2 if sql.is_postgres() else len(rows) * len(columns))
