from rest_framework import serializers

from apps.instances.models import Instance
from apps.licenses.models import License


class LicenseInstanceSerializer(serializers.ModelSerializer):
    class Meta:
        model = Instance
        fields = ["id", "instance_id", "status", "version", "last_seen"]
        read_only_fields = fields


class LicenseSerializer(serializers.ModelSerializer):
    product = serializers.CharField(source="product.slug", read_only=True, help_text="Product slug.")
    instances = LicenseInstanceSerializer(many=True, read_only=True, help_text="Instances reporting this licence.")

    class Meta:
        model = License
        fields = ["id", "product", "license_id", "type", "first_seen", "last_seen", "instances"]
        read_only_fields = fields
