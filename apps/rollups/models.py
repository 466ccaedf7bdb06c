from django.db import models


class DailyRollup(models.Model):
    """Fleet figures of one product for one UTC day; recomputed (replaced), never incremented."""

    product = models.ForeignKey("products.Product", on_delete=models.CASCADE, related_name="daily_rollups")
    day = models.DateField()
    active_instances = models.PositiveIntegerField(default=0, help_text="Instances that sent a heartbeat that day.")
    new_instances = models.PositiveIntegerField(default=0, help_text="Instances first seen that day.")
    stale_instances = models.PositiveIntegerField(default=0, help_text="Instances that went stale that day.")
    dead_instances = models.PositiveIntegerField(default=0, help_text="Instances that went dead that day.")
    resurrected_instances = models.PositiveIntegerField(default=0,
                                                        help_text="Stale or dead instances that came back.")
    heartbeats = models.PositiveIntegerField(default=0)
    events = models.PositiveIntegerField(default=0, help_text="Stored non-heartbeat events.")
    installs_started = models.PositiveIntegerField(default=0)
    installs_succeeded = models.PositiveIntegerField(default=0)
    installs_failed = models.PositiveIntegerField(default=0)
    installs_support = models.PositiveIntegerField(default=0)
    opt_outs = models.PositiveIntegerField(
        default=0, db_default=0,
        help_text="Opt-out records that day: instances whose telemetry is off, counted without identifying them.")
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["product", "-day"]
        constraints = [models.UniqueConstraint(fields=["product", "day"], name="daily_rollup_once")]

    def __str__(self) -> str:
        return f"{self.product_id} {self.day}"


class DailyBreakdown(models.Model):
    """One slice of a day: active instances by version/edition/os/licence type/country, events by name,
    or opt-outs by version."""

    class Dimension(models.TextChoices):
        VERSION = "version", "Version"
        EDITION = "edition", "Edition"
        OS = "os", "Operating system"
        LICENSE_TYPE = "license_type", "Licence type"
        EVENT = "event", "Event name"
        COUNTRY = "country", "Country"
        OPT_OUT_VERSION = "opt_out_version", "Opt-outs by version"

    product = models.ForeignKey("products.Product", on_delete=models.CASCADE, related_name="daily_breakdowns")
    day = models.DateField()
    dimension = models.CharField(max_length=16, choices=Dimension.choices)
    key = models.CharField(max_length=200, blank=True)
    count = models.PositiveIntegerField(
        default=0, help_text="Instances, or for events and opt-outs the number of records.")
    instances = models.PositiveIntegerField(default=0, help_text="Distinct instances.")

    class Meta:
        ordering = ["product", "-day", "dimension", "-count"]
        constraints = [
            models.UniqueConstraint(fields=["product", "day", "dimension", "key"], name="daily_breakdown_once"),
        ]

    def __str__(self) -> str:
        return f"{self.day} {self.dimension}={self.key}"


class Report(models.Model):
    """A fleet report for a period, built from rollups; stored so staff can read past ones."""

    class Kind(models.TextChoices):
        WEEKLY = "weekly", "Weekly"
        ON_DEMAND = "on_demand", "On demand"

    product = models.ForeignKey("products.Product", on_delete=models.CASCADE, related_name="reports")
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.WEEKLY)
    period_start = models.DateField()
    period_end = models.DateField(help_text="Last day included.")
    created_at = models.DateTimeField()
    content = models.JSONField(default=dict)
    body = models.TextField(blank=True, help_text="The report as e-mailed.")
    sent_to = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["product", "-period_end", "-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["product", "kind", "period_start", "period_end"],
                                    condition=models.Q(kind="weekly"), name="weekly_report_once"),
        ]

    def __str__(self) -> str:
        return f"{self.product_id} {self.kind} {self.period_start}..{self.period_end}"
