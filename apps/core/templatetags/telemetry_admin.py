"""Template helpers for the admin pages: pagination without counts, compact numbers and JSON."""

import json
from typing import Any

from django import template
from django.contrib.admin.views.main import PAGE_VAR
from django.utils.html import format_html
from django.utils.safestring import SafeString

register = template.Library()


@register.simple_tag
def uncounted_pagination(cl: Any) -> SafeString:
    """Links to the previous and next page of a change list whose paginator does not count."""
    parts = []
    if cl.page_num > 1:
        parts.append(format_html('<a href="{}">&lsaquo; newer</a>', cl.get_query_string({PAGE_VAR: cl.page_num - 1})))
    parts.append(format_html('<span class="this-page">page {}</span>', cl.page_num))
    if getattr(cl.paginator, "has_more", False):
        parts.append(format_html('<a href="{}">older &rsaquo;</a>', cl.get_query_string({PAGE_VAR: cl.page_num + 1})))
    return format_html(" · ".join(["{}"] * len(parts)), *parts)


@register.filter
def pretty_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)


@register.filter
def summary(properties: Any, own_id: str = "") -> str:
    """A one-line digest of an event's properties: its plain values, without SDK fields ($…) and
    without repeating the instance's own id (`own_id`), which every keep-alive carries several times."""
    if not isinstance(properties, dict):
        return ""
    parts = [f"{key}={str(value).lower() if isinstance(value, bool) else value}"
             for key, value in properties.items()
             if not key.startswith("$") and isinstance(value, str | int | float | bool) and value not in ("", own_id)]
    text = " · ".join(parts[:6])
    return text if len(text) <= 160 else text[:159] + "…"


@register.filter
def compact(value: Any) -> str:
    """1234567 → 1.2M, for chart captions and stat tiles."""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    for limit, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(number) >= limit:
            return f"{number / limit:.1f}{suffix}".replace(".0", "")
    return f"{number:.0f}" if number == int(number) else f"{number:.1f}"
