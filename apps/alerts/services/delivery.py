"""Delivering notifications: one attempt at a time, each recorded, the channel's health kept up to date.

A delivery first claims the notification (a conditional UPDATE on `claimed_until`), so a task the
broker hands out twice, or the sweep racing a retry, never sends the same notification at once twice.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q

from apps.alerts import payloads, transports
from apps.alerts.models import AlertChannel, DeliveryAttempt, Notification
from apps.alerts.services.notify import notifications_enqueue
from apps.alerts.transports import AttemptResult

SENT, RETRY, FAILED, SKIPPED = "sent", "retry", "failed", "skipped"
# A pending notification whose next attempt is this late has lost its task (broker down, worker killed).
REDELIVER_AFTER = timedelta(minutes=5)


def _claim_for(seconds: float) -> timedelta:
    return timedelta(seconds=seconds * 2 + 30)


def notification_deliver(*, notification_id: int, now: datetime, last_try: bool,
                         retry_in_seconds: int = 60) -> str:
    """Try once; answers `sent`, `retry` (try again in `retry_in_seconds`), `failed` or `skipped`."""
    held = Notification.objects.filter(pk=notification_id, outcome=Notification.Outcome.PENDING).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)).update(
        claimed_until=now + _claim_for(settings.TELEMETRY_ALERT_HTTP_TIMEOUT))
    if not held:
        return SKIPPED
    notification = Notification.objects.select_related("channel").get(pk=notification_id)
    result = transports.send(channel=notification.channel, payload=notification.payload, now=now)
    if result.delivered:
        outcome = SENT
    elif last_try or not result.retryable:
        outcome = FAILED
    else:
        outcome = RETRY
    _record(notification=notification, result=result, outcome=outcome, now=now,
            next_attempt_at=now + timedelta(seconds=retry_in_seconds))
    return outcome


def _record(*, notification: Notification, result: AttemptResult, outcome: str, now: datetime,
            next_attempt_at: datetime) -> None:
    with transaction.atomic():
        DeliveryAttempt.objects.create(notification=notification, at=now, status_code=result.status_code,
                                       error=result.error, duration_ms=result.duration_ms,
                                       delivered=result.delivered)
        changes: dict[str, object] = {"attempts": F("attempts") + 1, "claimed_until": None}
        if outcome == SENT:
            changes.update(outcome=Notification.Outcome.SENT, sent_at=now, next_attempt_at=None)
        elif outcome == FAILED:
            changes.update(outcome=Notification.Outcome.FAILED, next_attempt_at=None)
        else:
            changes.update(next_attempt_at=next_attempt_at)
        Notification.objects.filter(pk=notification.pk).update(**changes)
        channel = AlertChannel.objects.filter(pk=notification.channel_id)
        if result.delivered:
            channel.update(consecutive_failures=0, last_success_at=now)
        else:
            channel.update(consecutive_failures=F("consecutive_failures") + 1, last_failure_at=now,
                           last_error=result.error)


def notifications_redeliver(*, now: datetime) -> int:
    """Enqueue pending notifications whose delivery task was lost; returns how many."""
    ids = list(Notification.objects.filter(outcome=Notification.Outcome.PENDING,
                                           next_attempt_at__lt=now - REDELIVER_AFTER)
               .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
               .order_by("next_attempt_at").values_list("pk", flat=True)[:1000])
    if ids:
        # Pushed forward first, so the next sweep does not enqueue them again while they wait.
        Notification.objects.filter(pk__in=ids).update(next_attempt_at=now)
        notifications_enqueue(notification_ids=ids)
    return len(ids)


def channel_send_test(*, channel: AlertChannel, now: datetime) -> tuple[Notification, AttemptResult]:
    """Send a test notification now, in the caller's thread, recorded like any other; one attempt."""
    notification = Notification.objects.create(
        channel=channel, event=Notification.Event.TEST, created_at=now, next_attempt_at=now,
        payload=payloads.test_payload(channel_name=channel.name, now=now))
    result = transports.send(channel=channel, payload=notification.payload, now=now)
    _record(notification=notification, result=result, outcome=SENT if result.delivered else FAILED, now=now,
            next_attempt_at=now)
    notification.refresh_from_db()
    return notification, result
