"""Celery tasks of alerting: evaluation on beat (and after each rollup build), delivery with backoff."""

import logging

from celery import Task, shared_task
from django.db import DatabaseError
from django.utils import timezone

from apps.alerts.services import (
    alerts_evaluate_fleet_rules,
    alerts_evaluate_status_changes,
    notification_deliver,
    notifications_redeliver,
)
from apps.alerts.services.delivery import RETRY

logger = logging.getLogger(__name__)

# 30 s, 1, 2, 4, 8, 16 min: a receiver down for half an hour still gets the notification.
DELIVERY_RETRIES = 6
BACKOFF_BASE_SECONDS = 30


@shared_task(autoretry_for=(DatabaseError,), retry_backoff=10, max_retries=3, soft_time_limit=100, time_limit=120)
def evaluate_alerts() -> dict[str, int]:
    """Status changes into instance alerts, fleet rules, and the sweep of lost deliveries."""
    now = timezone.now()
    status = alerts_evaluate_status_changes(now=now)
    fleet = alerts_evaluate_fleet_rules(now=now)
    redelivered = notifications_redeliver(now=now)
    result = {"changes": status.changes, "fired": status.fired + fleet.fired,
              "resolved": status.resolved + fleet.resolved, "redelivered": redelivered}
    logger.info("alerts: %s", result)
    return result


@shared_task(autoretry_for=(DatabaseError,), retry_backoff=10, max_retries=3)
def evaluate_fleet_alerts() -> dict[str, int]:
    result = alerts_evaluate_fleet_rules(now=timezone.now())
    return {"fired": result.fired, "resolved": result.resolved}


@shared_task(bind=True, max_retries=DELIVERY_RETRIES, acks_late=True)
def deliver_notification(self: Task, notification_id: int) -> str:
    countdown = BACKOFF_BASE_SECONDS * 2 ** self.request.retries
    outcome = notification_deliver(notification_id=notification_id, now=timezone.now(),
                                   last_try=self.request.retries >= DELIVERY_RETRIES, retry_in_seconds=countdown)
    if outcome == RETRY:
        raise self.retry(countdown=countdown)
    return outcome
