"""What a channel and a rule's params may be; shared by the staff API and the admin forms.

Every function returns the cleaned value or raises Django's ValidationError with a message per field,
so both callers answer a clear 400 / form error instead of storing a rule no evaluation can read.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator

from apps.alerts.models import AlertChannel, AlertRule, new_secret

METRICS = ("active_instances", "new_instances", "stale_instances", "dead_instances", "resurrected_instances",
           "heartbeats", "events", "installs_started", "installs_succeeded", "installs_failed", "installs_support",
           "opt_outs")
CONDITIONS = ("drop_pct", "above", "below")
SELECTOR_KEYS = ("label", "license_type", "edition")
MAX_DAYS = 90
MAX_WINDOW_HOURS = 24 * 31

_url = URLValidator(schemes=["http", "https"])
_email = EmailValidator()


def validate_channel(*, kind: str, target: str, secret: str) -> str:
    """Check the target for the channel's kind; returns the secret to store (a new one for a webhook without)."""
    target = (target or "").strip()
    if kind not in AlertChannel.Kind.values:
        raise ValidationError({"kind": f"Unknown kind; one of {', '.join(AlertChannel.Kind.values)}."})
    if not target:
        raise ValidationError({"target": "A target is required."})
    if kind == AlertChannel.Kind.EMAIL:
        addresses = [a.strip() for a in target.split(",") if a.strip()]
        if not addresses:
            raise ValidationError({"target": "At least one e-mail address."})
        for address in addresses:
            try:
                _email(address)
            except ValidationError as exc:
                raise ValidationError({"target": "Not an e-mail address (comma-separated list expected)."}) from exc
    else:
        try:
            _url(target)
        except ValidationError as exc:
            raise ValidationError({"target": "An http:// or https:// URL is required."}) from exc
    if kind == AlertChannel.Kind.WEBHOOK and not secret:
        return new_secret()
    return secret or ""


def _number(params: dict[str, Any], name: str, *, low: float, high: float, default: float | None = None,
            integer: bool = False) -> float:
    value = params.get(name, default)
    if value is None:
        raise ValidationError({"params": f"`{name}` is required."})
    if isinstance(value, bool) or not isinstance(value, int | float) or (integer and not float(value).is_integer()):
        raise ValidationError({"params": f"`{name}` must be a{'n integer' if integer else ' number'}."})
    if not low <= value <= high:
        raise ValidationError({"params": f"`{name}` must be between {low:g} and {high:g}."})
    return int(value) if integer else float(value)


def _selector(params: dict[str, Any]) -> dict[str, str]:
    selector = params.get("selector", {})
    if not isinstance(selector, dict):
        raise ValidationError({"params": "`selector` must be an object."})
    unknown = set(selector) - set(SELECTOR_KEYS)
    if unknown or len(selector) > 1:
        raise ValidationError({"params": "`selector` is {}, or one of {\"label\": …}, {\"license_type\": …}, "
                                         "{\"edition\": …}."})
    for key, value in selector.items():
        if not isinstance(value, str) or not value.strip() or len(value) > 64:
            raise ValidationError({"params": f"`selector.{key}` must be a non-empty string of at most 64 characters."})
    return {key: value.strip() for key, value in selector.items()}


def validate_params(*, kind: str, params: Any) -> dict[str, Any]:
    """The rule's params, checked for its kind and with defaults filled in."""
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ValidationError({"params": "An object is required."})
    if kind == AlertRule.Kind.INSTANCE_STATUS:
        return {"selector": _selector(params)}
    if kind == AlertRule.Kind.METRIC:
        metric = params.get("metric")
        if metric not in METRICS:
            raise ValidationError({"params": f"`metric` is one of {', '.join(METRICS)}."})
        condition = params.get("condition")
        if condition not in CONDITIONS:
            raise ValidationError({"params": f"`condition` is one of {', '.join(CONDITIONS)}."})
        cleaned: dict[str, Any] = {"metric": metric, "condition": condition}
        if condition == "drop_pct":
            cleaned["threshold"] = _number(params, "threshold", low=0, high=100)
            cleaned["days"] = _number(params, "days", low=1, high=MAX_DAYS, default=7, integer=True)
        else:
            cleaned["threshold"] = _number(params, "threshold", low=0, high=1e12)
        return cleaned
    if kind == AlertRule.Kind.INSTALL_SUCCESS_RATE:
        return {
            "threshold": _number(params, "threshold", low=0, high=100),
            "window_hours": _number(params, "window_hours", low=1, high=MAX_WINDOW_HOURS, default=24, integer=True),
            "min_started": _number(params, "min_started", low=1, high=1e9, default=10, integer=True),
        }
    raise ValidationError({"kind": f"Unknown kind; one of {', '.join(AlertRule.Kind.values)}."})
