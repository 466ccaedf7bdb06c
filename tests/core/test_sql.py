"""apps/core/sql.py: statements run on Django's own cursor, the same in every environment; `rows_cte`."""

import runpy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.core import sql


@pytest.mark.django_db
def test_binds_server_side_on_postgres() -> None:
    if not sql.is_postgres():
        assert not sql.binds_server_side()
        pytest.skip("SQLite has no server-side binding")
    assert sql.binds_server_side()
    with connection.cursor() as cursor:
        assert isinstance(cursor.cursor, psycopg.Cursor)
        assert not isinstance(cursor.cursor, psycopg.ClientCursor)  # parameters travel apart from the text
        cursor.execute("SELECT %s + 1, %s, %b::bigint[]", [41, "text", [1, 2]])
        assert cursor.fetchone() == (42, "text", [1, 2])


@pytest.mark.django_db
def test_query_counting_and_execute_wrappers_see_every_statement() -> None:
    seen: list[str] = []

    def watch(execute: Any, statement: str, params: Any, many: bool, context: Any) -> Any:
        seen.append(statement)
        return execute(statement, params, many, context)

    with CaptureQueriesContext(connection) as queries, connection.execute_wrapper(watch), \
            connection.cursor() as cursor:
        cursor.execute("SELECT 2")
    assert seen == ["SELECT 2"]
    assert [q["sql"] for q in queries.captured_queries] == ["SELECT 2"]


@pytest.mark.django_db
def test_rows_cte_returns_its_rows() -> None:
    columns = (("n", "bigint"), ("word", "text"), ("at", "timestamptz"), ("data", "jsonb"), ("maybe", "text"))
    when = datetime(2024, 1, 10, 12, 0, 0, 123456, tzinfo=UTC)
    rows: list[tuple[int, str, datetime | None, dict[str, Any] | None, str | None]] = [
        (1, "plain", when, {"a": [1, "two", None]}, None),
        (2, "it's \"quoted\", ünïcode; -- not sql", when - timedelta(days=400), {}, "set"),
        (3, "", None, None, ""),
        (-(2**40), "big", when + timedelta(microseconds=1), {"nested": {"x": 1.5}}, None),
    ]
    cte, params = sql.rows_cte("v", columns, [
        (n, word, sql.dt_param(at), sql.json_param(data), maybe) for n, word, at, data, maybe in rows])
    statement = f"WITH {cte} SELECT n, word, at, data, maybe FROM v ORDER BY {sql.cast('n', 'bigint')} DESC"

    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        got = list(cursor.fetchall())

    assert [(n, word, sql.dt_result(at), sql.json_result(data), maybe) for n, word, at, data, maybe in got] == \
        sorted(rows, key=lambda row: row[0], reverse=True)
    assert len(params) == (2 if sql.is_postgres() else len(rows) * len(columns))


@pytest.mark.parametrize(("value", "expected"), [(None, 5), ("", None), ("none", None), ("0", 0), ("12", 12)])
def test_prepared_statements_follow_database_prepare_threshold(monkeypatch: pytest.MonkeyPatch, value: str | None,
                                                               expected: int | None) -> None:
    """PostgreSQL settings: server-side binding, and psycopg's prepare threshold from the environment."""
    monkeypatch.setenv("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/unused")
    if value is None:
        monkeypatch.delenv("DATABASE_PREPARE_THRESHOLD", raising=False)
    else:
        monkeypatch.setenv("DATABASE_PREPARE_THRESHOLD", value)
    base = Path(__file__).resolve().parents[2] / "telemetry_site" / "settings" / "base.py"
    options = runpy.run_path(str(base))["DATABASES"]["default"]["OPTIONS"]
    assert options["server_side_binding"] is True
    assert options["prepare_threshold"] == expected
