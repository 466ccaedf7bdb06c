"""Status changes as a queue: whoever reacts to them (alerting) claims each one exactly once."""

from datetime import datetime

from django.db import connection

from apps.core import sql
from apps.instances.models import StatusChange

CHANGE_TABLE = StatusChange._meta.db_table


def status_changes_claim(*, now: datetime, limit: int) -> list[int]:
    """Mark up to `limit` unclaimed changes as claimed at `now`; returns their ids, oldest first.

    Run it inside the transaction that acts on the changes, so a failure releases them. Two
    claimers never get the same row: the UPDATE re-checks `notified_at IS NULL` on rows another
    claimer changed meanwhile (PostgreSQL waits for its commit, then skips them; SQLite has one
    writer). The ORM's update() cannot return the ids it changed, hence the SQL.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {CHANGE_TABLE} SET notified_at = %s"
            f" WHERE id IN (SELECT id FROM {CHANGE_TABLE} WHERE notified_at IS NULL ORDER BY id LIMIT %s)"
            f" AND notified_at IS NULL RETURNING id",
            [sql.dt_param(now), limit],
        )
        return sorted(row[0] for row in cursor.fetchall())
