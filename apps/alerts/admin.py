"""Admin pages of alerting: channels and rules (with "send test"), the alert history, notifications."""

from datetime import timedelta
from typing import Any

from django.contrib import admin, messages
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from apps.accounts.admin_scoping import ProductScopedAdminMixin
from apps.core.admin_utils import NoCountPaginator, utc_minutes

from .models import Alert, AlertChannel, AlertInstance, AlertRule, DeliveryAttempt, Notification
from .services import alert_acknowledge, alert_mute, alert_unmute, channel_send_test

LISTED_INSTANCES = 20


def _send_tests(modeladmin: admin.ModelAdmin, request: HttpRequest, channels: list[AlertChannel]) -> None:
    now = timezone.now()
    for channel in channels:  # staff's selection of channels, sent one by one so each answer is shown
        _, result = channel_send_test(channel=channel, now=now)
        if result.delivered:
            modeladmin.message_user(request, f"Test sent to {channel.name} "
                                             f"({result.status_code or 'accepted'}, {result.duration_ms} ms).")
        else:
            modeladmin.message_user(request, f"Test to {channel.name} failed: {result.error}", messages.ERROR)


@admin.register(AlertChannel)
class AlertChannelAdmin(admin.ModelAdmin):
    list_display = ("name", "kind", "short_target", "health", "last_success", "last_failure")
    list_filter = ("kind",)
    search_fields = ("name",)
    readonly_fields = ("consecutive_failures", "last_success_at", "last_failure_at", "last_error", "created_at",
                       "updated_at")
    fields = ("name", "kind", "target", "secret", *readonly_fields)
    actions = ["send_test"]
    change_form_template = "admin/alerts/send_test_change_form.html"

    class Media:
        css = {"all": ["telemetry/admin.css"]}

    @admin.display(description="target")
    def short_target(self, channel: AlertChannel) -> str:
        return channel.target if len(channel.target) <= 60 else channel.target[:57] + "…"

    @admin.display(description="health")
    def health(self, channel: AlertChannel) -> str:
        if channel.failing:
            return format_html('<span class="badge critical" title="{}">failing ({} in a row)</span>',
                               channel.last_error, channel.consecutive_failures)
        return format_html('<span class="badge active">{}</span>', "ok")

    @admin.display(description="last success (UTC)", ordering="last_success_at")
    def last_success(self, channel: AlertChannel) -> str:
        return utc_minutes(channel.last_success_at) if channel.last_success_at else "—"

    @admin.display(description="last failure (UTC)", ordering="last_failure_at")
    def last_failure(self, channel: AlertChannel) -> str:
        return utc_minutes(channel.last_failure_at) if channel.last_failure_at else "—"

    @admin.action(description="Send a test notification")
    def send_test(self, request: HttpRequest, queryset: QuerySet[AlertChannel]) -> None:
        _send_tests(self, request, list(queryset[:20]))

    def get_urls(self) -> list[URLPattern]:
        return [path("<int:object_id>/send-test/", self.admin_site.admin_view(self.send_test_view),
                     name="alerts_alertchannel_send_test"), *super().get_urls()]

    def send_test_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        return _send_test_view(self, request, [get_object_or_404(AlertChannel, pk=object_id)],
                               reverse("admin:alerts_alertchannel_change", args=[object_id]))


def _send_test_view(modeladmin: admin.ModelAdmin, request: HttpRequest, channels: list[AlertChannel],
                    back: str) -> HttpResponse:
    if request.method != "POST":
        return HttpResponse(status=405)
    if not modeladmin.has_change_permission(request):
        return HttpResponse(status=403)
    if not channels:
        modeladmin.message_user(request, "This rule has no channel to test.", messages.WARNING)
    _send_tests(modeladmin, request, channels)
    return HttpResponseRedirect(back)


@admin.register(AlertRule)
class AlertRuleAdmin(ProductScopedAdminMixin, admin.ModelAdmin):
    list_display = ("name", "product", "kind", "enabled", "channel_names", "cooldown_minutes", "last_notified")
    list_filter = ("product", "kind", "enabled")
    search_fields = ("name",)
    list_select_related = ("product",)
    filter_horizontal = ("channels",)
    readonly_fields = ("last_notified_at", "created_at", "updated_at")
    fields = ("product", "name", "kind", "params", "channels", "enabled", "cooldown_minutes", *readonly_fields)
    actions = ["send_test"]
    change_form_template = "admin/alerts/send_test_change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[AlertRule]:
        return super().get_queryset(request).prefetch_related("channels")

    def get_changeform_initial_data(self, request: HttpRequest) -> dict[str, Any]:
        return {"params": {"selector": {}}, **super().get_changeform_initial_data(request)}

    @admin.display(description="channels")
    def channel_names(self, rule: AlertRule) -> str:
        return ", ".join(channel.name for channel in rule.channels.all()) or "—"

    @admin.display(description="last notified (UTC)", ordering="last_notified_at")
    def last_notified(self, rule: AlertRule) -> str:
        return utc_minutes(rule.last_notified_at) if rule.last_notified_at else "—"

    @admin.action(description="Send a test notification to the rules' channels")
    def send_test(self, request: HttpRequest, queryset: QuerySet[AlertRule]) -> None:
        channels = {c.pk: c for rule in queryset[:20] for c in rule.channels.all()}
        _send_tests(self, request, list(channels.values()))

    def get_urls(self) -> list[URLPattern]:
        return [path("<int:object_id>/send-test/", self.admin_site.admin_view(self.send_test_view),
                     name="alerts_alertrule_send_test"), *super().get_urls()]

    def send_test_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        rule = get_object_or_404(AlertRule, pk=object_id)
        return _send_test_view(self, request, list(rule.channels.all()),
                               reverse("admin:alerts_alertrule_change", args=[object_id]))


class NotificationInline(admin.TabularInline):
    model = Notification
    fields = ("channel", "event", "outcome", "attempts", "created_at", "sent_at", "last_attempt")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ("-created_at", "-id")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Notification]:
        return super().get_queryset(request).select_related("channel").prefetch_related("delivery_attempts")

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="last attempt")
    def last_attempt(self, notification: Notification) -> str:
        attempts = list(notification.delivery_attempts.all())
        if not attempts:
            return "—"
        last = attempts[-1]
        return f"{last.status_code or last.error or 'ok'} in {last.duration_ms} ms"


@admin.register(Alert)
class AlertAdmin(ProductScopedAdminMixin, admin.ModelAdmin):
    list_display = ("summary", "product", "state_badge", "fired", "resolved", "handled")
    list_filter = ("state", "product", "rule__kind")
    search_fields = ("summary",)
    list_select_related = ("product", "rule")
    readonly_fields = ("rule", "product", "state", "summary", "details", "fired_at", "resolved_at",
                       "last_notified_at", "acknowledged_at", "acknowledged_by", "muted_until", "instances")
    fields = readonly_fields
    inlines = [NotificationInline]
    actions = ["acknowledge", "mute_hour", "mute_day", "unmute"]
    paginator = NoCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    class Media:
        css = {"all": ["telemetry/admin.css"]}

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # alerts are fired by evaluation, never by hand

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    @admin.display(description="state", ordering="state")
    def state_badge(self, alert: Alert) -> str:
        css = "critical" if alert.state == Alert.State.FIRING else "active"
        return format_html('<span class="badge {}">{}</span>', css, alert.state)

    @admin.display(description="fired (UTC)", ordering="fired_at")
    def fired(self, alert: Alert) -> str:
        return utc_minutes(alert.fired_at)

    @admin.display(description="resolved (UTC)", ordering="resolved_at")
    def resolved(self, alert: Alert) -> str:
        return utc_minutes(alert.resolved_at) if alert.resolved_at else "—"

    @admin.display(description="handled")
    def handled(self, alert: Alert) -> str:
        now = timezone.now()
        parts = []
        if alert.acknowledged_at:
            parts.append("acknowledged")
        if alert.is_muted(now):
            parts.append(f"muted until {utc_minutes(alert.muted_until)}")
        return ", ".join(parts) or "—"

    @admin.display(description="instances")
    def instances(self, alert: Alert) -> str:
        members = (AlertInstance.objects.filter(alert=alert).select_related("instance")
                   .order_by("since", "id")[:LISTED_INSTANCES])
        counts = AlertInstance.objects.filter(alert=alert).aggregate(
            total=Count("pk"), down=Count("pk", filter=Q(resolved_at__isnull=True)))
        if not counts["total"]:
            return "—"
        rows = format_html_join("", '<li><a href="{}">{}</a> {}</li>', (
            (reverse("admin:instances_instance_change", args=[m.instance_id]), m.instance.instance_id,
             "back" if m.resolved_at else m.instance.status) for m in members))
        return format_html("{} down of {} listed<ul>{}</ul>", counts["down"], counts["total"], rows)

    @admin.action(description="Acknowledge (no more updates; resolved message still sent)")
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        now = timezone.now()
        done = [alert_acknowledge(alert=alert, user=request.user, now=now) for alert in queryset[:100]]
        self.message_user(request, f"{len(done)} alert(s) acknowledged.")

    def _mute(self, request: HttpRequest, queryset: QuerySet[Alert], minutes: int) -> None:
        now = timezone.now()
        done = [alert_mute(alert=alert, minutes=minutes, now=now) for alert in queryset[:100]]
        until = utc_minutes(now + timedelta(minutes=minutes))
        self.message_user(request, f"{len(done)} alert(s) muted until {until} UTC.")

    @admin.action(description="Mute for an hour")
    def mute_hour(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        self._mute(request, queryset, 60)

    @admin.action(description="Mute for a day")
    def mute_day(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        self._mute(request, queryset, 24 * 60)

    @admin.action(description="Unmute")
    def unmute(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        done = [alert_unmute(alert=alert) for alert in queryset[:100]]
        self.message_user(request, f"{len(done)} alert(s) unmuted.")


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    fields = ("at", "delivered", "status_code", "error", "duration_ms")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ("created_at", "event", "channel", "alert", "outcome", "attempts", "sent_at")
    list_filter = ("outcome", "event", "channel")
    list_select_related = ("channel", "alert")
    readonly_fields = ("alert", "channel", "event", "payload", "created_at", "outcome", "attempts", "sent_at",
                       "next_attempt_at")
    fields = readonly_fields
    inlines = [DeliveryAttemptInline]
    paginator = NoCountPaginator
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
