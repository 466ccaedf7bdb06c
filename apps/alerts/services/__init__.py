"""Alert evaluation, noise control and delivery; one module per reason to change."""

from .delivery import channel_send_test, notification_deliver, notifications_redeliver
from .fleet_alerts import FleetEvaluation, alerts_evaluate_fleet_rules
from .notify import alert_acknowledge, alert_mute, alert_unmute, notifications_enqueue
from .status_alerts import StatusEvaluation, alerts_evaluate_status_changes

__all__ = [
    "FleetEvaluation",
    "StatusEvaluation",
    "alert_acknowledge",
    "alert_mute",
    "alert_unmute",
    "alerts_evaluate_fleet_rules",
    "alerts_evaluate_status_changes",
    "channel_send_test",
    "notification_deliver",
    "notifications_enqueue",
    "notifications_redeliver",
]
