"""What a notification says: the webhook's JSON, and the text Slack and e-mail show.

The payload is built once, when the notification is decided, and stored with it: retries send the
same alert, and a resolved message never rewrites the firing one already sent.
"""

from datetime import datetime
from typing import Any

from django.conf import settings
from django.urls import reverse

from apps.alerts.models import Alert, AlertInstance

# A burst lists this many instances; the count says how many there are in all.
INSTANCES_LISTED = 20


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def alert_url(alert_id: int) -> str:
    return settings.TELEMETRY_BASE_URL.rstrip("/") + reverse("admin:alerts_alert_change", args=[alert_id])


def alert_payload(alert: Alert) -> dict[str, Any]:
    """`{"alert": {...}}` as a webhook receives it. Reads at most INSTANCES_LISTED instances."""
    members = (AlertInstance.objects.filter(alert=alert)
               .select_related("instance").order_by("since", "id"))
    listed = [{"id": m.instance_id, "instance_id": m.instance.instance_id, "status": m.instance.status,
               "version": m.instance.version, "since": _iso(m.since), "resolved_at": _iso(m.resolved_at)}
              for m in members[:INSTANCES_LISTED]]
    count = members.count() if len(listed) == INSTANCES_LISTED else len(listed)
    return {"alert": {
        "id": alert.pk,
        "rule": alert.rule_id,
        "rule_name": alert.rule.name,
        "kind": alert.rule.kind,
        "state": alert.state,
        "product": alert.product.slug,
        "summary": alert.summary,
        "url": alert_url(alert.pk),
        "fired_at": _iso(alert.fired_at),
        "resolved_at": _iso(alert.resolved_at),
        "instances": listed,
        "instance_count": count,
        "details": alert.details,
    }}


def test_payload(*, channel_name: str, now: datetime) -> dict[str, Any]:
    return {"alert": {
        "id": None, "rule": None, "rule_name": None, "kind": "test", "state": "test", "product": None,
        "summary": f"Test notification for channel {channel_name!r}: delivery works.",
        "url": settings.TELEMETRY_BASE_URL.rstrip("/") + reverse("admin:alerts_alert_changelist"),
        "fired_at": _iso(now), "resolved_at": None, "instances": [], "instance_count": 0, "details": {},
    }}


def headline(payload: dict[str, Any]) -> str:
    alert = payload["alert"]
    state = {"firing": "FIRING", "resolved": "RESOLVED", "test": "TEST"}.get(alert["state"], alert["state"])
    product = f"[{alert['product']}] " if alert.get("product") else ""
    return f"{state}: {product}{alert['summary']}"


def text(payload: dict[str, Any]) -> str:
    """Plain text for e-mail (and Slack's fallback)."""
    alert = payload["alert"]
    lines = [headline(payload), ""]
    if alert.get("fired_at"):
        lines.append(f"Fired at: {alert['fired_at']}")
    if alert.get("resolved_at"):
        lines.append(f"Resolved at: {alert['resolved_at']}")
    if alert["instance_count"]:
        lines.append(f"Instances: {alert['instance_count']}"
                     + (f" (first {len(alert['instances'])} below)" if alert["instance_count"] > len(alert["instances"])
                        else ""))
        lines.extend(f"  - {i['instance_id']} ({i['status']}{', ' + i['version'] if i['version'] else ''})"
                     for i in alert["instances"])
    lines.extend(["", alert["url"]])
    return "\n".join(lines)


def slack_message(payload: dict[str, Any]) -> dict[str, Any]:
    """Slack's incoming-webhook format: `text` as the notification fallback, blocks for the message."""
    alert = payload["alert"]
    body = f"*{headline(payload)}*\n<{alert['url']}|Open in the admin>"
    if alert["instance_count"]:
        shown = ", ".join(f"`{i['instance_id']}`" for i in alert["instances"][:10])
        more = alert["instance_count"] - min(10, len(alert["instances"]))
        body += f"\n{alert['instance_count']} instance(s): {shown}" + (f" and {more} more" if more > 0 else "")
    return {"text": headline(payload), "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": body}}]}
