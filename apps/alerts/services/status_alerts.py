"""Instance alerts from the status changes the heartbeat check and ingest write (healthchecks' Flip).

Each evaluation claims a chunk of unclaimed changes (`status_changes_claim`) and acts on it in the
same transaction, so every change is handled exactly once even with two evaluators, and a failure
hands the chunk back. Per chunk and per rule (rules are few; instances are never looped over):
- instances the changes touched that are now stale or dead and match the rule's selector join the
  rule's one open alert (opened if needed);
- instances the changes touched that are back (new/active) leave the open alerts they were in; an
  alert with nobody left in it is resolved.
Judging the instance's current status, not each change in turn, means a flap inside one evaluation
interval (stale, then back) pages nobody.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet

from apps.alerts.models import Alert, AlertInstance, AlertRule
from apps.alerts.services.notify import alert_notify_firing, alert_notify_resolved
from apps.instances.models import Instance, InstanceStatus, StatusChange
from apps.instances.services import status_changes_claim

CHUNK_SIZE = 1000
DOWN = (InstanceStatus.STALE, InstanceStatus.DEAD)
UP = (InstanceStatus.NEW, InstanceStatus.ACTIVE)


@dataclass(frozen=True)
class StatusEvaluation:
    changes: int = 0
    fired: int = 0
    resolved: int = 0


def alerts_evaluate_status_changes(*, now: datetime, chunk_size: int = CHUNK_SIZE) -> StatusEvaluation:
    changes = fired = resolved = 0
    while True:
        with transaction.atomic():
            claimed = status_changes_claim(now=now, limit=chunk_size)
            if claimed:
                chunk_fired, chunk_resolved = _evaluate_chunk(change_ids=claimed, now=now)
                fired += chunk_fired
                resolved += chunk_resolved
        changes += len(claimed)
        if len(claimed) < chunk_size:
            return StatusEvaluation(changes=changes, fired=fired, resolved=resolved + _resolve_emptied(now=now))


def _evaluate_chunk(*, change_ids: list[int], now: datetime) -> tuple[int, int]:
    touched = StatusChange.objects.filter(pk__in=change_ids).values("instance_id")
    product_ids = set(Instance.objects.filter(pk__in=touched).values_list("product_id", flat=True).distinct())
    rules = (AlertRule.objects.filter(kind=AlertRule.Kind.INSTANCE_STATUS, enabled=True, product_id__in=product_ids)
             .select_related("product").order_by("pk"))
    fired = sum(_add_down_instances(rule=rule, touched=touched, now=now) for rule in rules)
    return fired, _resolve_comebacks(touched=touched, now=now)


def _add_down_instances(*, rule: AlertRule, touched: QuerySet, now: datetime) -> int:
    down_ids = list(Instance.objects.filter(pk__in=touched, product_id=rule.product_id, status__in=DOWN)
                    .filter(rule.instance_filter()).order_by("pk").values_list("pk", flat=True))
    if not down_ids:
        return 0
    alert, opened = _open_alert(rule=rule, now=now)
    members = AlertInstance.objects.filter(alert=alert, instance_id__in=down_ids)
    back_again = members.filter(resolved_at__isnull=False).update(resolved_at=None, since=now)
    known = set(members.values_list("instance_id", flat=True))
    AlertInstance.objects.bulk_create(
        [AlertInstance(alert=alert, instance_id=pk, since=now) for pk in down_ids if pk not in known],
        ignore_conflicts=True)
    if not opened and not back_again and len(known) == len(down_ids):
        return 0  # stale → dead of instances the alert already lists: nothing new to say
    _describe(alert)
    alert_notify_firing(alert=alert, opened=opened, now=now)
    return 1 if opened else 0


def _open_alert(*, rule: AlertRule, now: datetime) -> tuple[Alert, bool]:
    alert = Alert.objects.filter(rule=rule, state=Alert.State.FIRING).select_related("rule", "product").first()
    if alert is not None:
        return alert, False
    try:
        with transaction.atomic():
            alert = Alert.objects.create(rule=rule, product_id=rule.product_id, fired_at=now, summary=rule.name)
    except IntegrityError:  # another evaluator opened it meanwhile (alert_one_open_per_rule)
        return Alert.objects.select_related("rule", "product").get(rule=rule, state=Alert.State.FIRING), False
    alert.rule = rule
    return alert, True


def _describe(alert: Alert) -> None:
    down = alert.members.filter(resolved_at__isnull=True).count()
    selector = alert.rule.params.get("selector") or {}
    which = " ".join(f"{key}={value}" for key, value in selector.items()) or "all"
    alert.summary = f"{alert.rule.name}: {down} instance(s) ({which}) stale or dead"
    alert.details = {"instances_down": down, "selector": selector}
    alert.save(update_fields=["summary", "details"])


def _resolve_emptied(*, now: datetime) -> int:
    """Resolve instance alerts left with nobody down without a comeback: their instances were erased."""
    still_down = AlertInstance.objects.filter(alert=OuterRef("pk"), resolved_at__isnull=True)
    emptied = list(Alert.objects.filter(state=Alert.State.FIRING, rule__kind=AlertRule.Kind.INSTANCE_STATUS)
                   .exclude(Exists(still_down)).values_list("pk", flat=True)[:100])
    return sum(_resolve(alert_id=alert_id, now=now, summary="no instance left (erased)") for alert_id in emptied)


def _resolve(*, alert_id: int, now: datetime, summary: str) -> int:
    if not Alert.objects.filter(pk=alert_id, state=Alert.State.FIRING).update(state=Alert.State.RESOLVED,
                                                                             resolved_at=now):
        return 0
    alert = Alert.objects.select_related("rule", "product").get(pk=alert_id)
    alert.summary = f"{alert.rule.name}: {summary}"
    alert.save(update_fields=["summary"])
    alert_notify_resolved(alert=alert, now=now)
    return 1


def _resolve_comebacks(*, touched: QuerySet, now: datetime) -> int:
    back = AlertInstance.objects.filter(resolved_at__isnull=True, alert__state=Alert.State.FIRING,
                                        instance_id__in=touched, instance__status__in=UP)
    alert_ids = set(back.values_list("alert_id", flat=True))
    if not alert_ids:
        return 0
    AlertInstance.objects.filter(pk__in=list(back.values_list("pk", flat=True))).update(resolved_at=now)
    still_down = AlertInstance.objects.filter(alert=OuterRef("pk"), resolved_at__isnull=True)
    cleared = list(Alert.objects.filter(pk__in=alert_ids, state=Alert.State.FIRING)
                   .exclude(Exists(still_down)).values_list("pk", flat=True))
    # Alerts, not instances: at most one per rule.
    return sum(_resolve(alert_id=alert_id, now=now, summary="every instance is back") for alert_id in cleared)
