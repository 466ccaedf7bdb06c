"""Celery tasks of the event store."""

import logging

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.db import DatabaseError
from django.utils import timezone

from apps.events.partitions import partitions_ensure
from apps.events.services import events_purge_expired

logger = logging.getLogger(__name__)


@shared_task(autoretry_for=(DatabaseError,), retry_backoff=60, max_retries=3)
def purge_expired() -> int:
    """Delete expired events. Stopped by the soft time limit, it keeps the batches already committed."""
    deleted = 0

    def count(n: int) -> None:
        nonlocal deleted
        deleted += n

    try:
        events_purge_expired(now=timezone.now(), progress=count)
    except SoftTimeLimitExceeded:
        logger.warning("purge stopped by its time limit after %s events; the next run continues", deleted)
        return deleted
    logger.info("purge: %s expired events deleted", deleted)
    return deleted


@shared_task(autoretry_for=(DatabaseError,), retry_backoff=60, max_retries=3)
def ensure_partitions() -> list[str]:
    """Create the events table's day partitions ahead of time (PostgreSQL; nothing to do on SQLite)."""
    created = partitions_ensure(now=timezone.now())
    if created:
        logger.info("event partitions created: %s", ", ".join(created))
    return created
