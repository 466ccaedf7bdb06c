import re
from typing import Any

from rest_framework import serializers

from apps.instances.models import Installation
from apps.products.models import STALE_GRACE_SECONDS, Product

_HAS_DIGIT = re.compile(r"\d")
# Above PostgreSQL's integer range a value would fail in the database, not in validation.
_MAX_SECONDS = 2_147_483_647


class InstallEventsField(serializers.DictField):
    """Event name → install step. DictField checks values; the keys need checking too."""

    child = serializers.ChoiceField(choices=Installation.Status.choices)

    def to_internal_value(self, data: Any) -> dict[str, str]:
        value = super().to_internal_value(data)
        key_field = serializers.CharField(max_length=200)
        for key in value:
            key_field.run_validation(key)
        return value


class ProductSerializer(serializers.ModelSerializer):
    """A product and its heartbeat settings; every duration is in seconds."""

    ingest_key = serializers.CharField(read_only=True, help_text="Public key the product's clients send.")
    heartbeat_interval = serializers.IntegerField(min_value=1, max_value=_MAX_SECONDS, required=False)
    stale_after = serializers.IntegerField(
        min_value=1, max_value=_MAX_SECONDS, required=False, allow_null=True,
        help_text="Seconds without a heartbeat before an instance is stale; null: twice the heartbeat "
                  f"interval plus {STALE_GRACE_SECONDS} s.")
    stale_after_seconds = serializers.IntegerField(read_only=True, help_text="The stale threshold in force.")
    dead_after = serializers.IntegerField(min_value=1, max_value=_MAX_SECONDS, required=False)
    heartbeat_events = serializers.ListField(child=serializers.CharField(max_length=200), required=False,
                                             max_length=200, help_text="Event names that count as heartbeats.")
    install_events = InstallEventsField(required=False, help_text="Event name → install step.")
    retention_days = serializers.IntegerField(min_value=1, max_value=100_000, required=False)

    class Meta:
        model = Product
        fields = ["id", "slug", "name", "ingest_key", "heartbeat_interval", "stale_after", "stale_after_seconds",
                  "dead_after", "heartbeat_events", "install_events", "latest_version", "retention_days",
                  "created_at", "updated_at"]
        read_only_fields = ["id", "slug", "created_at", "updated_at"]

    def validate_latest_version(self, value: str) -> str:
        if value and not _HAS_DIGIT.search(value):
            raise serializers.ValidationError("A version needs at least one number, e.g. 1.9.15.")
        return value

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # Checked against the stored values too, so a PATCH of one field cannot make them inconsistent;
        # an unsaved Product applies the model's own rule for the effective stale threshold.
        names = ("heartbeat_interval", "stale_after", "dead_after")
        probe = Product(**{name: getattr(self.instance, name) for name in names if self.instance})
        for name in names:
            if name in attrs:
                setattr(probe, name, attrs[name])
        if probe.dead_after <= probe.stale_after_seconds:
            raise serializers.ValidationError(
                {"dead_after": f"must be greater than the stale threshold ({probe.stale_after_seconds} s)."})
        return attrs


class ProductCreateSerializer(ProductSerializer):
    class Meta(ProductSerializer.Meta):
        read_only_fields = ["id", "created_at", "updated_at"]
