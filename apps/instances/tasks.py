"""Celery tasks of the instance registry. Each takes no rows, only ids or nothing, and is safe to retry."""

import logging

from celery import shared_task
from django.db import DatabaseError
from django.utils import timezone

from apps.instances.services import instances_check_heartbeats

logger = logging.getLogger(__name__)


# Runs every few minutes: a run that waited longer than that in the queue is superseded by the
# next one (the schedule's expiry), and a stuck one is killed well before the next tick.
@shared_task(autoretry_for=(DatabaseError,), retry_backoff=10, max_retries=3, soft_time_limit=200, time_limit=240)
def check_heartbeats() -> dict[str, int]:
    result = instances_check_heartbeats(now=timezone.now())
    logger.info("heartbeat check: %s stale, %s dead", result.stale, result.dead)
    return {"stale": result.stale, "dead": result.dead}
