import secrets
from datetime import datetime, timedelta

from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q

from apps.core.models import TimestampedModel
from apps.core.versions import in_range, is_outdated

# Event names from the seed products that mean "this instance is alive".
DEFAULT_HEARTBEAT_EVENTS = ["FETCH_RELEASE_NOTES", "Instance Active", "Installation Setup Complete", "instance_stats"]
# Install-script event names (Appsmith's Docker installer) and the funnel step each records.
DEFAULT_INSTALL_EVENTS = {
    "Installation Started": "started",
    "Installation Success": "succeeded",
    "Installation Errors": "failed",
    "Installation Error": "failed",  # what the current install script sends
    "Installation Support": "support",
}
# Slack on top of two missed heartbeats before an instance counts as stale.
STALE_GRACE_SECONDS = 3600
DEFAULT_DEAD_AFTER_SECONDS = 30 * 24 * 3600


def generate_ingest_key() -> str:
    return "tk_" + secrets.token_urlsafe(24)


def default_heartbeat_events() -> list[str]:
    return list(DEFAULT_HEARTBEAT_EVENTS)


def default_install_events() -> dict[str, str]:
    return dict(DEFAULT_INSTALL_EVENTS)


class Product(TimestampedModel):
    """A vendor's product whose instances send pings; its public ingest key authenticates them."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    ingest_key = models.CharField(max_length=64, unique=True, default=generate_ingest_key,
                                  help_text="Public key embedded in the product's clients.")
    heartbeat_interval = models.PositiveIntegerField(
        default=24 * 3600, help_text="Seconds between two heartbeats of a healthy instance.")
    stale_after = models.PositiveIntegerField(
        null=True, blank=True,
        help_text="Seconds without a heartbeat before an instance is stale. "
                  "Empty: twice the heartbeat interval plus an hour.")
    dead_after = models.PositiveIntegerField(
        default=DEFAULT_DEAD_AFTER_SECONDS, help_text="Seconds without a heartbeat before an instance is dead.")
    heartbeat_events = models.JSONField(default=default_heartbeat_events, blank=True,
                                        help_text="Event names that count as heartbeats.")
    install_events = models.JSONField(default=default_install_events, blank=True,
                                      help_text="Event name → install step (started, succeeded, failed, support).")
    latest_version = models.CharField(max_length=64, blank=True)
    retention_days = models.PositiveIntegerField(default=365)
    report_recipients = models.TextField(blank=True, help_text="Staff e-mail addresses for reports, one per line.")
    public_stats = models.BooleanField(
        default=False, help_text="Publish rollup figures (active instances, versions, countries; small counts "
                                 "suppressed) at /stats/<slug>/ and an SVG badge, without login.")
    # Rate limits on ingest (apps/ingest/throttles.py); empty: the site-wide defaults apply.
    ingest_rate_per_key = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)],
        help_text="Requests per minute this product's ingest key may make, its whole fleet together. "
                  "Empty: TELEMETRY_INGEST_RATE_PER_KEY.")
    ingest_rate_per_address = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1)],
        help_text="Requests per minute one sender address may make with this product's key. "
                  "Empty: TELEMETRY_INGEST_RATE_PER_ADDRESS.")
    # Bumped by the database on every change to the product, its releases or its notices
    # (apps/products/stamp.py); ingest compares it with what its cache was built from.
    change_stamp = models.BigIntegerField(db_default=0, editable=False)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name

    @property
    def stale_after_seconds(self) -> int:
        if self.stale_after:
            return self.stale_after
        return 2 * self.heartbeat_interval + STALE_GRACE_SECONDS

    def stale_threshold(self, now: datetime) -> datetime:
        """Instances whose last heartbeat is older than this are stale."""
        return now - timedelta(seconds=self.stale_after_seconds)

    def dead_threshold(self, now: datetime) -> datetime:
        return now - timedelta(seconds=self.dead_after)

    def retention_cutoff(self, now: datetime) -> datetime:
        return now - timedelta(days=self.retention_days)

    def install_step_for(self, event_name: str) -> str | None:
        return (self.install_events or {}).get(event_name)

    def is_heartbeat_event(self, event_name: str) -> bool:
        return event_name in (self.heartbeat_events or [])

    def is_outdated(self, version: str) -> bool:
        return is_outdated(version, self.latest_version)

    def recipient_list(self) -> list[str]:
        return [line.strip() for line in self.report_recipients.splitlines() if line.strip()]


class Release(TimestampedModel):
    """A published version; the newest one marked latest is what the two-way answer recommends."""

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="releases")
    version = models.CharField(max_length=64)
    released_at = models.DateTimeField(null=True, blank=True)
    notes_url = models.URLField(blank=True)

    class Meta:
        ordering = ["product", "-released_at"]
        constraints = [models.UniqueConstraint(fields=["product", "version"], name="release_unique_version")]

    def __str__(self) -> str:
        return f"{self.product.slug} {self.version}"


class Notice(TimestampedModel):
    """A message for instances whose version lies in a range, e.g. a security advisory."""

    class Level(models.TextChoices):
        INFO = "info", "Info"
        WARNING = "warning", "Warning"
        SECURITY = "security", "Security"
        CRITICAL = "critical", "Critical"

    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="notices")
    level = models.CharField(max_length=16, choices=Level.choices, default=Level.INFO)
    title = models.CharField(max_length=200)
    message = models.TextField(blank=True)
    url = models.URLField(blank=True)
    min_version = models.CharField(max_length=64, blank=True, help_text="Lowest affected version; empty: any.")
    max_version = models.CharField(max_length=64, blank=True, help_text="Highest affected version; empty: any.")
    active = models.BooleanField(default=True)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["product", "-created_at"]
        indexes = [models.Index(fields=["product", "active"], name="notice_product_active")]

    def __str__(self) -> str:
        return self.title

    def applies_to(self, version: str, now: datetime) -> bool:
        if not self.active:
            return False
        if self.starts_at and now < self.starts_at:
            return False
        if self.ends_at and now >= self.ends_at:
            return False
        return in_range(version, self.min_version, self.max_version)

    def as_answer(self) -> dict[str, str | int]:
        return {"id": self.pk, "level": self.level, "title": self.title, "message": self.message,
                "url": self.url}

    @staticmethod
    def live_q(now: datetime) -> Q:
        return Q(active=True) & (Q(starts_at__isnull=True) | Q(starts_at__lte=now)) & (
            Q(ends_at__isnull=True) | Q(ends_at__gt=now))
