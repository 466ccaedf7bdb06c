from datetime import datetime

from django.conf import settings
from django.db import models

from apps.core.models import TimestampedModel


class InstanceStatus(models.TextChoices):
    NEW = "new", "New"
    ACTIVE = "active", "Active"
    STALE = "stale", "Stale"
    DEAD = "dead", "Dead"


class CollectionLevel(models.TextChoices):
    FULL = "full", "Full: everything"
    HEARTBEAT = "heartbeat", "Heartbeat only: liveness and version"
    OFF = "off", "Off: nothing"


class Instance(TimestampedModel):
    """One running copy of a product, named by the id it sends (`instanceId`, `instance_uid`, ...)."""

    # No index of its own: the unique (product, instance_id) and the (product, …) indexes lead with it.
    product = models.ForeignKey("products.Product", on_delete=models.CASCADE, related_name="instances",
                                db_index=False)
    instance_id = models.CharField(max_length=200)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField(help_text="Time of the last heartbeat (server clock).")
    version = models.CharField(max_length=64, blank=True)
    edition = models.CharField(max_length=64, blank=True)
    os = models.CharField(max_length=64, blank=True)
    arch = models.CharField(max_length=32, blank=True)
    context = models.CharField(max_length=64, blank=True, help_text="CI system or run context, if any.")
    status = models.CharField(max_length=8, choices=InstanceStatus.choices, default=InstanceStatus.NEW)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    collection = models.CharField(max_length=16, choices=CollectionLevel.choices, default=CollectionLevel.FULL)
    metrics = models.JSONField(
        default=dict, blank=True,
        help_text="Latest metrics, one key per kind of ping so kinds never overwrite each other.")
    ip_hash = models.CharField(max_length=64, blank=True, help_text="Keyed hash of the sender's IP address.")
    country = models.CharField(max_length=2, blank=True, default="", db_default="",
                               help_text="ISO 3166-1 alpha-2 code of the last heartbeat's address; empty if unknown.")
    license = models.ForeignKey("licenses.License", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="instances")
    heartbeat_count = models.PositiveBigIntegerField(default=0)
    dropped_count = models.PositiveBigIntegerField(
        default=0, help_text="Records dropped because of the collection level.")

    class Meta:
        ordering = ["-last_seen"]
        constraints = [
            models.UniqueConstraint(fields=["product", "instance_id"], name="instance_unique_per_product"),
        ]
        indexes = [
            # No index holds last_seen (or anything else every heartbeat moves): a heartbeat's UPDATE
            # then changes no indexed column and PostgreSQL writes it as a HOT update, without a
            # new entry in each index. The staleness check and status filters use (product, status)
            # and read last_seen from the rows (docs/performance.md).
            models.Index(fields=["product", "status"], name="instance_product_status"),
            models.Index(fields=["product", "version"], name="instance_product_version"),
            models.Index(fields=["product", "collection"], name="instance_product_collection"),
            models.Index(fields=["version"], name="instance_version"),
            models.Index(fields=["status"], name="instance_status"),
            # Prefix search on instance ids (staff API `search=`): LIKE 'abc%' needs the pattern
            # operator class on PostgreSQL unless the database collation is C. Ignored on SQLite.
            models.Index(fields=["instance_id"], name="instance_id_prefix", opclasses=["varchar_pattern_ops"]),
        ]

    def __str__(self) -> str:
        return self.instance_id

    @property
    def stores_events(self) -> bool:
        return self.collection == CollectionLevel.FULL

    @property
    def stores_anything(self) -> bool:
        return self.collection != CollectionLevel.OFF

    def expected_status(self, now: datetime) -> str:
        """What the heartbeat checker should say of this instance at `now` (healthchecks' get_status)."""
        silent_for = (now - self.last_seen).total_seconds()
        if silent_for > self.product.dead_after:
            return InstanceStatus.DEAD
        if silent_for > self.product.stale_after_seconds:
            return InstanceStatus.STALE
        return self.status if self.status in (InstanceStatus.NEW, InstanceStatus.ACTIVE) else InstanceStatus.ACTIVE


LABEL_MAX_LENGTH = 64
LABELS_PER_INSTANCE = 20


class InstanceLabel(models.Model):
    """A short tag staff put on an instance ("customer-acme", "paying") to watch it or filter by it."""

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="label_rows")
    label = models.CharField(max_length=LABEL_MAX_LENGTH)

    class Meta:
        ordering = ["label"]
        constraints = [models.UniqueConstraint(fields=["instance", "label"], name="instance_label_once")]
        # `?label=` and alert selectors go from a label to its instances.
        indexes = [models.Index(fields=["label", "instance"], name="instance_label_lookup")]

    def __str__(self) -> str:
        return self.label


class Installation(TimestampedModel):
    """One run of an install script, through the funnel started → succeeded / failed / support."""

    class Status(models.TextChoices):
        STARTED = "started", "Started"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        SUPPORT = "support", "Support requested"

    product = models.ForeignKey("products.Product", on_delete=models.CASCADE, related_name="installations")
    install_id = models.CharField(max_length=200)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.STARTED)
    os = models.CharField(max_length=64, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_seen = models.DateTimeField()
    error = models.TextField(blank=True)
    ip_hash = models.CharField(max_length=64, blank=True,
                               help_text="Keyed hash of the address installed from; links the run to its instance.")
    class Link(models.TextChoices):
        """Why a run is linked to its instance, or why it is not."""

        NONE = "", "Not linked yet: no instance has reported this install id, and no new instance has come " \
                   "from its address within a day of it"
        INSTALL_ID = "install_id", "Linked: the instance's heartbeat carried this install id"
        NAMED = "named", "Linked: an install step named the instance"
        ADDRESS = "address", "Linked: the only install run and the only new instance from one address within a day"
        SEVERAL_RUNS = "several_runs", "Not linked: several install runs came from the new instance's address " \
                                       "within a day"
        SEVERAL_INSTANCES = "several_instances", "Not linked: several new instances came from this address " \
                                                 "within a day"
        ALIVE_BEFORE = "alive_before", "Not linked: the run failed, and the instance that reported its install " \
                                       "id was alive before the run started"
        UNCHECKED = "unchecked", "Linked before links needed evidence (by install id, or by address alone)"

    instance = models.ForeignKey(Instance, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="installations")
    link_reason = models.CharField(max_length=32, choices=Link.choices, blank=True, default=Link.NONE, db_default="",
                                   help_text="Why the run is linked to its instance, or why not.")

    class Meta:
        ordering = ["-last_seen"]
        constraints = [
            models.UniqueConstraint(fields=["product", "install_id"], name="installation_unique_per_product"),
        ]
        indexes = [
            models.Index(fields=["product", "status"], name="installation_product_status"),
            models.Index(fields=["product", "started_at"], name="installation_product_started"),
            models.Index(fields=["product", "ip_hash"], name="installation_product_ip"),
        ]

    def __str__(self) -> str:
        return self.install_id


class StatusChange(models.Model):
    """Audit of status transitions, dated when the threshold passed, not when the job noticed."""

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="status_changes")
    old = models.CharField(max_length=8, choices=InstanceStatus.choices)
    new = models.CharField(max_length=8, choices=InstanceStatus.choices)
    at = models.DateTimeField()
    notified_at = models.DateTimeField(
        null=True, blank=True, help_text="When alert evaluation claimed this change; empty until then.")

    class Meta:
        ordering = ["-at"]
        constraints = [
            # Two checkers racing over the same instance can record a transition only once.
            models.UniqueConstraint(fields=["instance", "new", "at"], name="status_change_once"),
        ]
        indexes = [
            models.Index(fields=["at"], name="status_change_at"),
            # The alert queue: only the changes nobody has claimed yet, so it stays small as history grows.
            models.Index(fields=["id"], condition=models.Q(notified_at__isnull=True),
                         name="status_change_unnotified"),
        ]

    def __str__(self) -> str:
        return f"{self.old} → {self.new} at {self.at:%Y-%m-%d %H:%M}"

    @property
    def is_resurrection(self) -> bool:
        return self.old in (InstanceStatus.STALE, InstanceStatus.DEAD) and self.new == InstanceStatus.ACTIVE


class CollectionChange(models.Model):
    """Audit of who changed an instance's collection level, when, and why."""

    instance = models.ForeignKey(Instance, on_delete=models.CASCADE, related_name="collection_changes")
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+")
    at = models.DateTimeField()
    old = models.CharField(max_length=16, choices=CollectionLevel.choices)
    new = models.CharField(max_length=16, choices=CollectionLevel.choices)
    reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-at"]

    def __str__(self) -> str:
        return f"{self.old} → {self.new}"


class ErasedInstance(models.Model):
    """What remains of an erased instance: a keyed hash of its id, so its later pings are dropped."""

    product = models.ForeignKey("products.Product", on_delete=models.CASCADE, related_name="erased_instances")
    instance_hash = models.CharField(max_length=64)
    erased_at = models.DateTimeField()
    erased_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                  related_name="+")
    reason = models.TextField(blank=True)
    events_deleted = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-erased_at"]
        constraints = [
            models.UniqueConstraint(fields=["product", "instance_hash"], name="erased_instance_once"),
        ]

    def __str__(self) -> str:
        return f"erased {self.instance_hash[:12]}…"
