from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from apps.instances.models import LABEL_MAX_LENGTH, LABELS_PER_INSTANCE, CollectionLevel, Instance
from apps.instances.services import labels_normalize
from apps.licenses.models import License


class LicenseRefSerializer(serializers.ModelSerializer):
    """The licence an instance reports, in the shape ingest takes it: `{id, type}` with the licence's own id
    (FlowFuse `platform.license.id`, Hasura `license_jti`); `pk` finds it under /api/v1/licenses/."""

    id = serializers.CharField(source="license_id", read_only=True)
    pk = serializers.IntegerField(read_only=True)

    class Meta:
        model = License
        fields = ["id", "type", "pk"]


class InstanceSerializer(serializers.ModelSerializer):
    product = serializers.CharField(source="product.slug", read_only=True, help_text="Product slug.")
    license = LicenseRefSerializer(read_only=True, allow_null=True)
    metrics = serializers.JSONField(read_only=True, help_text="Latest metrics, one key per kind of ping.")
    labels = serializers.SerializerMethodField(help_text="Staff's labels on the instance.")

    class Meta:
        model = Instance
        fields = ["id", "product", "instance_id", "status", "status_changed_at", "first_seen", "last_seen",
                  "version", "edition", "os", "arch", "context", "country", "collection", "license", "metrics",
                  "heartbeat_count", "dropped_count", "labels"]
        read_only_fields = fields

    def get_labels(self, instance: Instance) -> list[str]:
        # From the prefetch in instances_for_api(): sorted here, not by another query.
        return sorted(row.label for row in instance.label_rows.all())


class InstanceUpdateSerializer(serializers.Serializer):
    """What staff change on an instance: how much of it is collected (and why), and its labels."""

    collection = serializers.ChoiceField(choices=CollectionLevel.choices, required=False)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000,
                                   help_text="Why; stored in the audit row.")
    labels = serializers.ListField(
        child=serializers.CharField(max_length=LABEL_MAX_LENGTH, trim_whitespace=True), required=False,
        max_length=LABELS_PER_INSTANCE, help_text="Replaces the instance's labels; short strings without commas.")

    def validate_labels(self, value: list[str]) -> list[str]:
        try:
            return labels_normalize(value)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.messages) from exc

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if "collection" not in attrs and "labels" not in attrs:
            raise serializers.ValidationError("Give `collection` (with a `reason`), `labels`, or both.")
        return attrs
