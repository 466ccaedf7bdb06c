"""Liveness and dependency health, for load balancers and `make run`'s first look."""

from typing import Any

from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from telemetry_site.celery import app as celery_app

from .replica import replica_status


def _database_status() -> str:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # any driver error means "down" to a health check
        return f"error: {exc.__class__.__name__}"
    return "ok"


def _broker_status() -> str:
    try:
        with celery_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
    except Exception as exc:  # kombu raises many transport-specific errors
        return f"error: {exc.__class__.__name__}"
    return "ok"


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    database = _database_status()
    broker = _broker_status()
    healthy = database == "ok"  # ingest needs only the database; the broker is reported, not required
    body: dict[str, Any] = {"status": "ok" if healthy and broker == "ok" else ("degraded" if healthy else "error"),
            "database": database, "broker": broker, "broker_transport": celery_app.conf.broker_url.split(":")[0]}
    replica = replica_status()
    if replica.configured:
        # Reported, not required: without the replica its reads go to the primary.
        body["replica"] = replica.state
        body["replica_lag_seconds"] = None if replica.lag_seconds is None else round(replica.lag_seconds, 1)
    return JsonResponse(body, status=200 if healthy else 503)
