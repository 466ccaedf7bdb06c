"""Reads of alerting that join: open alerts for a page, alerts with their notifications for the API."""

from django.db.models import Count, Prefetch, Q, QuerySet

from apps.alerts.models import Alert, AlertInstance, Notification

OPEN_ALERTS_SHOWN = 10
INSTANCES_PER_ALERT = 20


def open_alerts(*, product_id: int | None = None, instance_id: int | None = None,
                limit: int = OPEN_ALERTS_SHOWN) -> list[Alert]:
    """Firing alerts, newest first, with how many instances each still lists as down (bounded)."""
    alerts = Alert.objects.filter(state=Alert.State.FIRING)
    if product_id is not None:
        alerts = alerts.filter(product_id=product_id)
    if instance_id is not None:
        alerts = alerts.filter(pk__in=AlertInstance.objects.filter(instance_id=instance_id, resolved_at__isnull=True)
                               .values("alert_id"))
    return list(alerts.select_related("rule", "product")
                .annotate(instances_down=Count("members", filter=Q(members__resolved_at__isnull=True)))
                .order_by("-fired_at", "-id")[:limit])


def open_alert_counts(*, product_ids: list[int]) -> dict[int, int]:
    """Firing alerts per product, for the fleet overview: one GROUP BY over the open alerts."""
    rows = (Alert.objects.filter(state=Alert.State.FIRING, product_id__in=product_ids).order_by()
            .values("product_id").annotate(n=Count("id")))
    return {row["product_id"]: row["n"] for row in rows}


def alerts_for_api() -> QuerySet[Alert]:
    return (Alert.objects.select_related("rule", "product")
            .annotate(instance_count=Count("members", distinct=True))
            .prefetch_related(
                Prefetch("notifications", queryset=Notification.objects.select_related("channel")
                         .order_by("created_at", "id")),
                Prefetch("members", to_attr="listed_members",
                         queryset=AlertInstance.objects.select_related("instance")
                         .order_by("since", "id")[:INSTANCES_PER_ALERT]))
            .order_by("-fired_at", "-id"))
