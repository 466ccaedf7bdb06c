"""Django's `migrate`, without the statement timeout that bounds every other database wait.

Web processes give a statement 15 s and jobs a few minutes (docs/operations.md); a migration
that adds an index to or rewrites the events table takes as long as the table is large, and is
run and watched by an operator.
"""

from typing import Any

from django.core.management.commands import migrate
from django.db import connections

from apps.core.db_health import without_time_limits


class Command(migrate.Command):
    def handle(self, *args: Any, **options: Any) -> None:
        with without_time_limits(connections[options["database"]]):
            super().handle(*args, **options)
