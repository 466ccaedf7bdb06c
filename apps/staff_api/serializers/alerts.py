from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers

from apps.accounts.access import can_see_product
from apps.alerts.models import Alert, AlertChannel, AlertRule, DeliveryAttempt, Notification
from apps.alerts.validation import validate_channel, validate_params
from apps.products.models import Product


def _drf_error(exc: DjangoValidationError) -> serializers.ValidationError:
    return serializers.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)


class AlertChannelSerializer(serializers.ModelSerializer):
    name = serializers.CharField(max_length=100)
    target = serializers.CharField(max_length=2000, help_text="email: addresses, comma-separated; webhook: URL "
                                                              "(the body is signed with `secret`); slack: an "
                                                              "incoming-webhook URL.")
    secret = serializers.CharField(max_length=200, required=False, allow_blank=True,
                                   help_text="Webhook signing secret; generated when a webhook is created without.")
    failing = serializers.BooleanField(read_only=True, help_text="Its last deliveries kept failing.")

    class Meta:
        model = AlertChannel
        fields = ["id", "name", "kind", "target", "secret", "failing", "consecutive_failures", "last_success_at",
                  "last_failure_at", "last_error", "created_at", "updated_at"]
        read_only_fields = ["id", "failing", "consecutive_failures", "last_success_at", "last_failure_at",
                            "last_error", "created_at", "updated_at"]

    def validate_product(self, product: Product) -> Product:
        # Staff limited to some products cannot watch another one: it answers as if it did not exist.
        request = self.context.get("request")
        if request is not None and not can_see_product(request.user, product.pk):
            raise serializers.ValidationError(f'Object with slug={product.slug} does not exist.')
        return product

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        current = self.instance
        kind = attrs.get("kind", current.kind if current else None)
        target = attrs.get("target", current.target if current else "")
        secret = attrs.get("secret", current.secret if current else "")
        try:
            attrs["secret"] = validate_channel(kind=kind or "", target=target, secret=secret)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from exc
        if "target" in attrs:
            attrs["target"] = attrs["target"].strip()
        return attrs


class ChannelTestResultSerializer(serializers.Serializer):
    delivered = serializers.BooleanField()
    status_code = serializers.IntegerField(allow_null=True, help_text="The receiver's HTTP status, if any.")
    error = serializers.CharField(allow_blank=True)
    duration_ms = serializers.IntegerField()
    notification = serializers.IntegerField(help_text="The recorded test notification.")


class AlertRuleSerializer(serializers.ModelSerializer):
    product = serializers.SlugRelatedField(slug_field="slug", queryset=Product.objects.all(),
                                           help_text="Product slug.")
    name = serializers.CharField(max_length=200)
    params = serializers.JSONField(required=False, help_text="Depends on `kind`; see docs/alerts.md.")
    channels = serializers.PrimaryKeyRelatedField(many=True, queryset=AlertChannel.objects.all(), required=False,
                                                  help_text="Channel ids.")
    cooldown_minutes = serializers.IntegerField(min_value=0, max_value=7 * 24 * 60, required=False)

    class Meta:
        model = AlertRule
        fields = ["id", "product", "name", "kind", "params", "channels", "enabled", "cooldown_minutes",
                  "last_notified_at", "created_at", "updated_at"]
        read_only_fields = ["id", "last_notified_at", "created_at", "updated_at"]

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        current = self.instance
        kind = attrs.get("kind", current.kind if current else "")
        params = attrs.get("params", current.params if current and "kind" not in attrs else {})
        try:
            attrs["params"] = validate_params(kind=kind, params=params)
        except DjangoValidationError as exc:
            raise _drf_error(exc) from exc
        return attrs


class DeliveryAttemptSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeliveryAttempt
        fields = ["at", "delivered", "status_code", "error", "duration_ms"]
        read_only_fields = fields


class NotificationSerializer(serializers.ModelSerializer):
    channel = serializers.IntegerField(source="channel_id", read_only=True)
    channel_name = serializers.CharField(source="channel.name", read_only=True)
    deliveries = DeliveryAttemptSerializer(source="delivery_attempts", many=True, read_only=True)

    class Meta:
        model = Notification
        fields = ["id", "channel", "channel_name", "event", "created_at", "sent_at", "attempts", "outcome",
                  "deliveries"]
        read_only_fields = fields


class AlertInstanceRefSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="instance_id")
    instance_id = serializers.CharField(source="instance.instance_id")
    status = serializers.CharField(source="instance.status")
    since = serializers.DateTimeField()
    resolved_at = serializers.DateTimeField(allow_null=True)


class AlertSerializer(serializers.ModelSerializer):
    product = serializers.CharField(source="product.slug", read_only=True)
    rule = serializers.IntegerField(source="rule_id", read_only=True)
    rule_name = serializers.CharField(source="rule.name", read_only=True)
    kind = serializers.CharField(source="rule.kind", read_only=True)
    details = serializers.JSONField(read_only=True)
    instances = AlertInstanceRefSerializer(source="listed_members", many=True, read_only=True,
                                           help_text="The first instances of an instance alert.")
    instance_count = serializers.IntegerField(read_only=True)
    notifications = NotificationSerializer(many=True, read_only=True)

    class Meta:
        model = Alert
        fields = ["id", "rule", "rule_name", "kind", "product", "state", "summary", "details", "fired_at",
                  "resolved_at", "acknowledged_at", "muted_until", "instances", "instance_count", "notifications"]
        read_only_fields = fields


class AlertMuteSerializer(serializers.Serializer):
    minutes = serializers.IntegerField(min_value=1, max_value=30 * 24 * 60, help_text="How long to stay quiet.")
