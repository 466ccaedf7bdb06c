import os
from typing import Any

from celery import Celery
from celery.signals import worker_init

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "telemetry_site.settings.base")

app = Celery("telemetry_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@worker_init.connect
def use_job_statement_timeout(**kwargs: Any) -> None:
    """Jobs scan whole days of events: a worker's sessions get the longer job statement timeout.

    Runs in the worker's main process before its pool forks and before any connection is opened,
    so every task's connection starts with it (web processes keep the short one). Behind PgBouncer
    the session cannot carry it: the worker connects to PgBouncer's jobs entry instead.
    """
    from django.conf import settings
    from django.db import connections

    from telemetry_site.settings.base import database_session_options

    web, job = (database_session_options(settings.DATABASE_STATEMENT_TIMEOUT),
                database_session_options(settings.JOB_DATABASE_STATEMENT_TIMEOUT))
    settings.DATABASE_STATEMENT_TIMEOUT = settings.JOB_DATABASE_STATEMENT_TIMEOUT
    if settings.DATABASE_POOLER:
        # PgBouncer sets the timeouts per database entry: the worker connects to the jobs entry.
        database = settings.DATABASES["default"]
        database["NAME"] = settings.DATABASE_POOLER_JOB_NAME or f"{database['NAME']}_jobs"
    for alias in settings.DATABASES:
        options = settings.DATABASES[alias].get("OPTIONS", {})
        if "options" in options:
            options["options"] = options["options"].replace(web, job)
    connections.close_all()
