from django.db import models


class EventKind(models.TextChoices):
    HEARTBEAT = "heartbeat", "Heartbeat"
    INSTALL = "install", "Install step"
    EVENT = "event", "Event"
    OPT_OUT = "opt_out", "Opt-out (telemetry turned off; no instance)"


class Event(models.Model):
    """One stored ping or usage event. `message_id` is unique per product: EventMessageId holds that.

    On PostgreSQL the table is partitioned by day of `received_at` (apps/events/partitions.py):
    its primary key in the database is (id, received_at), because a partitioned table's keys must
    hold the partition column; `id` alone stays the ORM's primary key (ids come from one sequence).
    """

    id = models.BigAutoField(primary_key=True)
    # Performance: every index is written by every ingested event, so only these three:
    # the primary key and two (product|instance, timestamp) indexes, which
    # also serve look-ups by product or instance alone (a foreign key's own index would repeat them).
    # No foreign key constraints in the database either: PostgreSQL checks one with a query per
    # inserted row (a third of its CPU for a Segment batch). The ingest writer takes the same row
    # locks those checks took, once per statement, and deleting a product or an instance deletes
    # the events that raced it (apps/events/receivers.py). Django still cascades deletes.
    product = models.ForeignKey("products.Product", on_delete=models.CASCADE, related_name="events",
                                db_index=False, db_constraint=False)
    instance = models.ForeignKey("instances.Instance", null=True, blank=True, on_delete=models.CASCADE,
                                 related_name="events", db_index=False, db_constraint=False)
    kind = models.CharField(max_length=10, choices=EventKind.choices, default=EventKind.EVENT)
    name = models.CharField(max_length=200)
    message_id = models.CharField(max_length=200)
    timestamp = models.DateTimeField(help_text="Client time corrected for clock skew.")
    received_at = models.DateTimeField()
    properties = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-timestamp"]
        indexes = [
            models.Index(fields=["product", "timestamp"], name="event_product_time"),
            models.Index(fields=["instance", "timestamp"], name="event_instance_time"),
        ]

    def __str__(self) -> str:
        return self.name


class EventMessageId(models.Model):
    """The dedupe: each (product, message id) ever stored, kept as long as any product keeps events.

    A partitioned table cannot hold a unique key without its partition column, and a retried
    message arrives at another `received_at`; so the key lives here, in one plain table, written in
    the same statement as the events (apps/events/services.py) and pruned by `received_at` when
    retention drops the partitions whose events it guarded. No foreign key constraint, as for Event.
    """

    pk = models.CompositePrimaryKey("product", "message_id")
    product = models.ForeignKey("products.Product", on_delete=models.CASCADE, related_name="+",
                                db_constraint=False, db_index=False)  # the key's first column
    message_id = models.CharField(max_length=200)
    received_at = models.DateTimeField()

    class Meta:
        db_table = "event_message_ids"

    def __str__(self) -> str:
        return self.message_id
