from rest_framework import serializers

from apps.events.models import Event
from apps.instances.models import Installation


class EventSerializer(serializers.ModelSerializer):
    product = serializers.CharField(source="product.slug", read_only=True, help_text="Product slug.")
    instance_id = serializers.CharField(source="instance.instance_id", read_only=True, allow_null=True,
                                        help_text="The instance's own id; null for events of no known instance.")

    class Meta:
        model = Event
        fields = ["id", "product", "instance_id", "kind", "name", "message_id", "timestamp", "received_at",
                  "properties"]
        read_only_fields = fields


class InstallationSerializer(serializers.ModelSerializer):
    product = serializers.CharField(source="product.slug", read_only=True, help_text="Product slug.")
    instance = serializers.IntegerField(source="instance.pk", read_only=True, allow_null=True,
                                        help_text="Database id of the instance it became, if known.")
    instance_id = serializers.CharField(source="instance.instance_id", read_only=True, allow_null=True,
                                        help_text="The instance's own id, if known.")

    class Meta:
        model = Installation
        fields = ["id", "product", "install_id", "status", "os", "started_at", "finished_at", "last_seen", "error",
                  "instance", "instance_id", "link_reason"]
        read_only_fields = fields
