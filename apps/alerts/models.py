"""Alert channels, rules, the alerts they fire and every notification (and attempt) sent about them."""

import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.core.models import TimestampedModel

# A channel is shown as failing once this many deliveries in a row have failed.
FAILING_AFTER = 3


def new_secret() -> str:
    return secrets.token_hex(24)


class AlertChannel(TimestampedModel):
    """Where notifications go: e-mail addresses, a signed webhook or a Slack incoming webhook."""

    class Kind(models.TextChoices):
        EMAIL = "email", "E-mail"
        WEBHOOK = "webhook", "Webhook"
        SLACK = "slack", "Slack"

    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    target = models.TextField(help_text="E-mail: addresses, comma-separated. Webhook and Slack: the URL.")
    secret = models.CharField(max_length=200, blank=True,
                              help_text="Webhook only: signs each body (HMAC-SHA256). Generated when left empty.")
    consecutive_failures = models.PositiveIntegerField(default=0)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_failure_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"

    @property
    def failing(self) -> bool:
        return self.consecutive_failures >= FAILING_AFTER

    def recipients(self) -> list[str]:
        return [address.strip() for address in self.target.split(",") if address.strip()]

    def clean(self) -> None:
        from apps.alerts.validation import validate_channel

        self.secret = validate_channel(kind=self.kind, target=self.target, secret=self.secret)


class AlertRule(TimestampedModel):
    """What to watch in one product, and which channels hear about it."""

    class Kind(models.TextChoices):
        INSTANCE_STATUS = "instance_status", "An instance goes stale or dead"
        METRIC = "metric", "A fleet figure from the daily rollups"
        INSTALL_SUCCESS_RATE = "install_success_rate", "Install success rate"

    product = models.ForeignKey("products.Product", on_delete=models.CASCADE, related_name="alert_rules")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    params = models.JSONField(default=dict, blank=True)
    channels = models.ManyToManyField(AlertChannel, blank=True, related_name="rules")
    enabled = models.BooleanField(default=True)
    cooldown_minutes = models.PositiveIntegerField(
        default=60, help_text="After a notification, further ones about this rule's alerts wait this long "
                              "(resolved messages excepted).")
    last_notified_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["product", "name", "id"]
        indexes = [models.Index(fields=["kind", "enabled"], name="alert_rule_kind_enabled")]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        from apps.alerts.validation import validate_params

        self.params = validate_params(kind=self.kind, params=self.params)

    def in_cooldown(self, now: datetime) -> bool:
        return (self.last_notified_at is not None
                and now < self.last_notified_at + timedelta(minutes=self.cooldown_minutes))

    def instance_filter(self) -> Q:
        """The instances `params.selector` picks, as a filter on Instance."""
        from apps.instances.models import InstanceLabel

        selector: dict[str, Any] = self.params.get("selector") or {}
        if "label" in selector:
            return Q(pk__in=InstanceLabel.objects.filter(label=selector["label"]).values("instance_id"))
        if "license_type" in selector:
            return Q(license__type=selector["license_type"])
        if "edition" in selector:
            return Q(edition=selector["edition"])
        return Q()


class Alert(models.Model):
    """One firing (then resolved) condition of a rule; instance alerts list the instances involved."""

    class State(models.TextChoices):
        FIRING = "firing", "Firing"
        RESOLVED = "resolved", "Resolved"

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    product = models.ForeignKey("products.Product", on_delete=models.CASCADE, related_name="alerts",
                                db_index=False)
    state = models.CharField(max_length=16, choices=State.choices, default=State.FIRING)
    summary = models.TextField()
    details = models.JSONField(default=dict, blank=True, help_text="The figures the rule compared.")
    fired_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    last_notified_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                        related_name="+")
    muted_until = models.DateTimeField(null=True, blank=True)
    # Not stored: whether the alert is muted right now, set where a page lists open alerts.
    muted: bool

    class Meta:
        ordering = ["-fired_at", "-id"]
        constraints = [
            # At most one open alert per rule: two evaluators racing cannot both open one.
            models.UniqueConstraint(fields=["rule"], condition=Q(state="firing"), name="alert_one_open_per_rule"),
        ]
        indexes = [
            models.Index(fields=["product", "state", "fired_at"], name="alert_product_state_fired"),
            models.Index(fields=["rule", "fired_at"], name="alert_rule_fired"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.summary}"

    def is_muted(self, now: datetime) -> bool:
        return self.muted_until is not None and now < self.muted_until


class AlertInstance(models.Model):
    """An instance inside an instance alert; resolved when it comes back."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="members")
    instance = models.ForeignKey("instances.Instance", on_delete=models.CASCADE, related_name="alert_memberships")
    since = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["since", "id"]
        constraints = [models.UniqueConstraint(fields=["alert", "instance"], name="alert_instance_once")]
        indexes = [models.Index(fields=["instance", "resolved_at"], name="alert_instance_open")]

    def __str__(self) -> str:
        return f"{self.alert_id}/{self.instance_id}"


class Notification(models.Model):
    """One message to one channel: an alert firing or resolving, or a test. Delivered by a Celery task."""

    class Event(models.TextChoices):
        FIRING = "firing", "Firing"
        RESOLVED = "resolved", "Resolved"
        TEST = "test", "Test"

    class Outcome(models.TextChoices):
        PENDING = "pending", "Pending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    alert = models.ForeignKey(Alert, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications")
    channel = models.ForeignKey(AlertChannel, on_delete=models.CASCADE, related_name="notifications")
    event = models.CharField(max_length=16, choices=Event.choices)
    payload = models.JSONField(help_text="The alert as it was when the notification was decided.")
    created_at = models.DateTimeField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    sent_at = models.DateTimeField(null=True, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True,
                                         help_text="A delivery in progress holds the notification until then.")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["next_attempt_at"], condition=Q(outcome="pending"), name="notification_pending"),
        ]

    def __str__(self) -> str:
        return f"{self.event} → {self.channel_id} ({self.outcome})"


class DeliveryAttempt(models.Model):
    """One try at delivering a notification: what the other side answered, or why it could not."""

    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="delivery_attempts")
    at = models.DateTimeField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    delivered = models.BooleanField(default=False)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.status_code or self.error[:40]}"
