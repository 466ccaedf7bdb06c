from rest_framework import serializers

from apps.instances.models import CollectionLevel, Instance
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

    class Meta:
        model = Instance
        fields = ["id", "product", "instance_id", "status", "status_changed_at", "first_seen", "last_seen",
                  "version", "edition", "os", "arch", "context", "country", "collection", "license", "metrics",
                  "heartbeat_count", "dropped_count"]
        read_only_fields = fields


class InstanceUpdateSerializer(serializers.Serializer):
    """The one thing staff change on an instance: how much of it is collected, and why."""

    collection = serializers.ChoiceField(choices=CollectionLevel.choices)
    reason = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000,
                                   help_text="Why; stored in the audit row.")
