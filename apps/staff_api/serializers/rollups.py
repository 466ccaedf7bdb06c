from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from apps.rollups.models import DailyRollup, Report


class BreakdownEntrySerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The version, edition, OS, licence type, country or event name.")
    count = serializers.IntegerField(help_text="Instances, or for events and opt-outs the number of records.")
    instances = serializers.IntegerField(help_text="Distinct instances (0 for opt-outs, which name none).")


class BreakdownsSerializer(serializers.Serializer):
    """Every dimension is always present; a day without data for one has an empty list."""

    version = BreakdownEntrySerializer(many=True)
    edition = BreakdownEntrySerializer(many=True)
    os = BreakdownEntrySerializer(many=True)
    license_type = BreakdownEntrySerializer(many=True)
    event = BreakdownEntrySerializer(many=True)
    country = BreakdownEntrySerializer(
        many=True, help_text="Active instances by ISO 3166-1 alpha-2 country code; \"\" when unknown.")
    opt_out_version = BreakdownEntrySerializer(
        many=True, help_text="Opt-out records by the version they carried (the dark fleet).")


class DailyRollupSerializer(serializers.ModelSerializer):
    product = serializers.CharField(source="product.slug", read_only=True, help_text="Product slug.")
    breakdowns = serializers.SerializerMethodField()

    class Meta:
        model = DailyRollup
        fields = ["product", "day", "active_instances", "new_instances", "stale_instances", "dead_instances",
                  "resurrected_instances", "heartbeats", "events", "installs_started", "installs_succeeded",
                  "installs_failed", "installs_support", "opt_outs", "computed_at", "breakdowns"]
        read_only_fields = fields

    @extend_schema_field(BreakdownsSerializer)
    def get_breakdowns(self, rollup: DailyRollup) -> dict[str, Any]:
        # Fetched for the whole page at once by the view (one query), see selectors.breakdowns_by_day.
        return self.context["breakdowns"][(rollup.product_id, rollup.day)]


class ReportSerializer(serializers.ModelSerializer):
    product = serializers.CharField(source="product.slug", read_only=True, help_text="Product slug.")

    class Meta:
        model = Report
        fields = ["id", "product", "kind", "period_start", "period_end", "created_at", "content", "body",
                  "sent_to", "sent_at"]
        read_only_fields = fields
