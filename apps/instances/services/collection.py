"""Writes that touch several rows of the instance registry."""

from collections.abc import Iterable
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction

from apps.instances.models import CollectionChange, CollectionLevel, Instance


def instances_set_collection(*, instance_ids: Iterable[int], level: str, reason: str,
                             user: User | None, now: datetime) -> int:
    """Set the collection level of many instances; one audit row per instance that actually changed.

    Returns how many instances changed. Rows are locked so two staff members changing the same
    instance at once produce two consistent audit rows, never a lost one.
    """
    if level not in CollectionLevel.values:
        raise ValueError(f"unknown collection level {level!r}")
    with transaction.atomic():
        changing = list(
            Instance.objects.select_for_update()
            .filter(pk__in=list(instance_ids))
            .exclude(collection=level)
            .values_list("pk", "collection")
        )
        if not changing:
            return 0
        CollectionChange.objects.bulk_create(
            CollectionChange(instance_id=pk, changed_by_id=user.pk if user and user.is_authenticated else None,
                             at=now, old=old, new=level, reason=reason)
            for pk, old in changing
        )
        Instance.objects.filter(pk__in=[pk for pk, _ in changing]).update(collection=level, updated_at=now)
    return len(changing)
