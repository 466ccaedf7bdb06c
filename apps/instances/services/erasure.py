"""Erasing an instance on request: delete everything stored about it, keep only a keyed hash of its id."""

import logging
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import F

from apps.core.privacy import keyed_hash
from apps.events.models import Event
from apps.instances.models import CollectionChange, ErasedInstance, Installation, Instance, StatusChange

logger = logging.getLogger(__name__)


def instance_erase(*, instance_pk: int, user: User | None, now: datetime,
                   reason: str = "") -> ErasedInstance:
    """Delete one instance and everything about it; record the keyed hash so ingest drops its later pings.

    Deleted: its events, status history and collection audit. Unlinked (kept, they are not about
    this instance alone): installations that became it, and the licence it reported.
    Daily rollups are aggregates without instance ids and stay as they are.
    Raises Instance.DoesNotExist when the instance is gone (e.g. erased concurrently).
    """
    erased_by = user if user is not None and user.is_authenticated else None
    with transaction.atomic():
        # The row lock makes a concurrent erasure of the same instance wait, then find nothing.
        instance = Instance.objects.select_for_update().select_related("product").get(pk=instance_pk)
        events_deleted, _ = Event.objects.filter(instance_id=instance.pk).delete()
        StatusChange.objects.filter(instance_id=instance.pk).delete()
        CollectionChange.objects.filter(instance_id=instance.pk).delete()
        Installation.objects.filter(instance_id=instance.pk).update(instance=None, updated_at=now)
        # The licence link lives on the instance row, so it goes with it; the License row stays.
        instance.delete()
        erased = _record_erasure(instance=instance, user=erased_by, now=now, reason=reason,
                                 events_deleted=events_deleted)
    # The log names the hash, never the instance id itself: the id is exactly what was erased.
    logger.info("erased an instance of %s (hash %s) by user %s: %d events deleted",
                instance.product.slug, erased.instance_hash[:16], getattr(erased_by, "pk", None), events_deleted)
    return erased


def _record_erasure(*, instance: Instance, user: User | None, now: datetime, reason: str,
                    events_deleted: int) -> ErasedInstance:
    """One ErasedInstance per (product, hash); erasing the same id again (it pinged before ingest
    learnt to drop it) updates the row rather than failing on the unique constraint."""
    instance_hash = keyed_hash(instance.instance_id)
    user_pk = user.pk if user is not None else None  # by id: the field is typed for the project's User model
    updated = ErasedInstance.objects.filter(product_id=instance.product_id, instance_hash=instance_hash).update(
        erased_at=now, erased_by_id=user_pk, reason=reason, events_deleted=F("events_deleted") + events_deleted)
    if not updated:
        ErasedInstance.objects.create(product_id=instance.product_id, instance_hash=instance_hash, erased_at=now,
                                      erased_by_id=user_pk, reason=reason, events_deleted=events_deleted)
    return ErasedInstance.objects.get(product_id=instance.product_id, instance_hash=instance_hash)
