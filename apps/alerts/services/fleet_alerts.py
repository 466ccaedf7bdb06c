"""Fleet alerts: a figure of the daily rollups, or the install success rate, crossing a rule's threshold.

Run after each rollup build and by the evaluation job. Each rule costs a few aggregate queries
whatever the fleet's size. A rule's state is its one open alert: condition true and none open →
open it (the partial unique constraint lets only one evaluator do so) and announce it; condition
false and one open → resolve it with a conditional UPDATE and say so. Running twice changes nothing.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Count, Q

from apps.alerts.models import Alert, AlertRule
from apps.alerts.services.notify import alert_notify_firing, alert_notify_resolved
from apps.instances.models import CollectionChange, CollectionLevel, Installation
from apps.rollups.models import DailyRollup
from apps.rollups.services import day_bounds

FLEET_KINDS = (AlertRule.Kind.METRIC, AlertRule.Kind.INSTALL_SUCCESS_RATE)


@dataclass(frozen=True)
class Reading:
    firing: bool
    summary: str
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FleetEvaluation:
    fired: int = 0
    resolved: int = 0


def alerts_evaluate_fleet_rules(*, now: datetime, product_ids: list[int] | None = None) -> FleetEvaluation:
    rules = AlertRule.objects.filter(kind__in=FLEET_KINDS, enabled=True).select_related("product").order_by("pk")
    if product_ids is not None:
        rules = rules.filter(product_id__in=product_ids)
    fired = resolved = 0
    for rule in rules:  # rules, not instances: a handful per product
        reading = rule_reading(rule=rule, now=now)
        with transaction.atomic():
            if reading.firing:
                fired += _fire(rule=rule, reading=reading, now=now)
            else:
                resolved += _resolve(rule=rule, reading=reading, now=now)
    return FleetEvaluation(fired=fired, resolved=resolved)


def rule_reading(*, rule: AlertRule, now: datetime) -> Reading:
    if rule.kind == AlertRule.Kind.METRIC:
        return metric_reading(rule=rule, day=(now - timedelta(days=1)).date())
    return install_success_reading(rule=rule, now=now)


def _metric_values(rule: AlertRule, first: date, last: date) -> dict[date, int]:
    """The metric per day in [first, last]; days without a row count as 0 (nothing happened)."""
    metric = rule.params["metric"]
    if metric == "opt_outs":
        # Not a rollup column: instances switched to "off" that day, from the collection audit.
        start, _ = day_bounds(first)
        _, end = day_bounds(last)
        rows = (CollectionChange.objects.filter(instance__product_id=rule.product_id, new=CollectionLevel.OFF,
                                                at__gte=start, at__lt=end)
                .values_list("at", flat=True))
        values: dict[date, int] = {}
        for at in rows:  # bounded by the opt-outs of a few days, not by the fleet
            values[at.date()] = values.get(at.date(), 0) + 1
        return values
    return dict(DailyRollup.objects.filter(product_id=rule.product_id, day__gte=first, day__lte=last)
                .values_list("day", metric))


def metric_reading(*, rule: AlertRule, day: date) -> Reading:
    """Judge the last complete UTC day (today's rollup is still filling up)."""
    params = rule.params
    metric, condition, threshold = params["metric"], params["condition"], float(params["threshold"])
    days = int(params.get("days", 7)) if condition == "drop_pct" else 0
    values = _metric_values(rule, day - timedelta(days=days), day)
    value = values.get(day, 0)
    details: dict[str, Any] = {"metric": metric, "day": day.isoformat(), "value": value, "condition": condition,
                               "threshold": threshold}
    label = metric.replace("_", " ")
    if condition == "drop_pct":
        baseline = sum(values.get(day - timedelta(days=n), 0) for n in range(1, days + 1)) / days
        drop = (baseline - value) / baseline * 100 if baseline else 0.0
        details.update(baseline=round(baseline, 2), drop_pct=round(drop, 1), days=days)
        return Reading(firing=baseline > 0 and drop >= threshold, details=details,
                       summary=f"{rule.name}: {label} {value} on {day}, {drop:.0f} % below the {days}-day "
                               f"mean of {baseline:.1f} (alert at {threshold:g} %)")
    firing = value > threshold if condition == "above" else value < threshold
    return Reading(firing=firing, details=details,
                   summary=f"{rule.name}: {label} {value} on {day} ({condition} {threshold:g})")


def install_success_reading(*, rule: AlertRule, now: datetime) -> Reading:
    params = rule.params
    hours, threshold, min_started = int(params["window_hours"]), float(params["threshold"]), int(params["min_started"])
    counts = Installation.objects.filter(product_id=rule.product_id, started_at__gte=now - timedelta(hours=hours),
                                         started_at__lte=now).aggregate(
        started=Count("pk"), succeeded=Count("pk", filter=Q(status=Installation.Status.SUCCEEDED)))
    started, succeeded = counts["started"], counts["succeeded"]
    rate = succeeded / started * 100 if started else 100.0
    details = {"window_hours": hours, "started": started, "succeeded": succeeded, "rate_pct": round(rate, 1),
               "threshold": threshold, "min_started": min_started}
    return Reading(firing=started >= min_started and rate < threshold, details=details,
                   summary=f"{rule.name}: {succeeded} of {started} install(s) succeeded in the last {hours} h "
                           f"({rate:.0f} %, alert below {threshold:g} %)")


def _fire(*, rule: AlertRule, reading: Reading, now: datetime) -> int:
    alert = Alert.objects.filter(rule=rule, state=Alert.State.FIRING).first()
    if alert is not None:
        Alert.objects.filter(pk=alert.pk).update(summary=reading.summary, details=reading.details)
        return 0
    try:
        with transaction.atomic():
            alert = Alert.objects.create(rule=rule, product_id=rule.product_id, fired_at=now,
                                         summary=reading.summary, details=reading.details)
    except IntegrityError:  # another evaluator opened it meanwhile
        return 0
    alert.rule = rule
    alert_notify_firing(alert=alert, opened=True, now=now)
    return 1


def _resolve(*, rule: AlertRule, reading: Reading, now: datetime) -> int:
    alert = Alert.objects.filter(rule=rule, state=Alert.State.FIRING).first()
    if alert is None or not Alert.objects.filter(pk=alert.pk, state=Alert.State.FIRING).update(
            state=Alert.State.RESOLVED, resolved_at=now, summary=reading.summary, details=reading.details):
        return 0
    alert.refresh_from_db()
    alert.rule = rule
    alert_notify_resolved(alert=alert, now=now)
    return 1
