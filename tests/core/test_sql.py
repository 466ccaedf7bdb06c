"""The writer's cursor (apps/core/sql.py): server-side binding on PostgreSQL unless something watches."""

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
