"""Deciding who hears about an alert, under the noise rules, and queueing the notifications.

- One notification per channel of the rule per decision, however many instances the alert lists.
- Cooldown per rule: after a notification, further "firing" ones about the rule wait `cooldown_minutes`.
- An acknowledged alert stops its "more instances" updates; a muted one says nothing until the mute ends.
- A resolved message goes out only for an alert whose firing was announced.
"""

import logging
from datetime import datetime, timedelta

from django.db import transaction

from apps.alerts import payloads
from apps.alerts.models import Alert, AlertRule, Notification

logger = logging.getLogger(__name__)


def alert_notify_firing(*, alert: Alert, opened: bool, now: datetime) -> list[Notification]:
    """Announce a new alert (`opened`) or one that grew, unless the noise rules hold it back."""
    rule = alert.rule
    if rule.in_cooldown(now) or alert.is_muted(now) or (not opened and alert.acknowledged_at is not None):
        return []
    # The conditional update claims the rule's cooldown, so two evaluators never both announce.
    claimed = AlertRule.objects.filter(pk=rule.pk, last_notified_at=rule.last_notified_at).update(last_notified_at=now)
    if not claimed:
        return []
    rule.last_notified_at = now
    return _queue(alert=alert, event=Notification.Event.FIRING, now=now)


def alert_notify_resolved(*, alert: Alert, now: datetime) -> list[Notification]:
    if alert.last_notified_at is None or alert.is_muted(now):
        return []
    return _queue(alert=alert, event=Notification.Event.RESOLVED, now=now)


def _queue(*, alert: Alert, event: str, now: datetime) -> list[Notification]:
    payload = payloads.alert_payload(alert)
    channels = list(alert.rule.channels.all())
    notifications = Notification.objects.bulk_create([
        Notification(alert=alert, channel=channel, event=event, payload=payload, created_at=now, next_attempt_at=now)
        for channel in channels])
    Alert.objects.filter(pk=alert.pk).update(last_notified_at=now)
    alert.last_notified_at = now
    ids = [n.pk for n in notifications]
    if ids:
        transaction.on_commit(lambda: notifications_enqueue(notification_ids=ids))
    return notifications


def notifications_enqueue(*, notification_ids: list[int]) -> None:
    """Hand each notification to a delivery task. A broker that is down loses nothing: the row stays
    pending and the evaluation job's sweep (`notifications_redeliver`) enqueues it again."""
    from apps.alerts.tasks import deliver_notification

    for notification_id in notification_ids:
        try:
            deliver_notification.delay(notification_id)
        except Exception:
            logger.warning("could not enqueue notification %s; the sweep will retry", notification_id)


def alert_acknowledge(*, alert: Alert, user: object, now: datetime) -> Alert:
    Alert.objects.filter(pk=alert.pk, acknowledged_at__isnull=True).update(acknowledged_at=now,
                                                                          acknowledged_by=user)
    alert.refresh_from_db()
    return alert


def alert_mute(*, alert: Alert, minutes: int, now: datetime) -> Alert:
    Alert.objects.filter(pk=alert.pk).update(muted_until=now + timedelta(minutes=minutes))
    alert.refresh_from_db()
    return alert


def alert_unmute(*, alert: Alert) -> Alert:
    Alert.objects.filter(pk=alert.pk).update(muted_until=None)
    alert.refresh_from_db()
    return alert

