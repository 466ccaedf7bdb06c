"""Events that raced the deletion of their product or instance are deleted with it.

The events table has no foreign key constraints (apps/events/models.py). Django deletes a
product's or an instance's events first and the row itself last. An ingest transaction holding
that row (`FOR KEY SHARE`, apps/events/services.py and the instances' look-up) may commit new
events in between: the row's DELETE waits for that commit. These receivers run after the row's
DELETE, in the deleting transaction, so they see those events and delete them too; without them
the events would outlive what they belong to (an erasure must leave nothing behind). A product's
message ids go with it; an instance's stay (they name no instance, and keep a retried message of
an erased instance from being stored again).
"""

from typing import Any

from django.db.models import QuerySet
from django.db.models.signals import post_delete
from django.dispatch import receiver

from apps.events.models import Event, EventMessageId
from apps.instances.models import Instance
from apps.products.models import Product


@receiver(post_delete, sender=Product, dispatch_uid="events_of_deleted_product")
def delete_events_of_deleted_product(sender: type[Product], instance: Product, **kwargs: Any) -> None:
    Event.objects.filter(product_id=instance.pk).delete()
    EventMessageId.objects.filter(product_id=instance.pk).delete()


@receiver(post_delete, sender=Instance, dispatch_uid="events_of_deleted_instance")
def delete_events_of_deleted_instance(sender: type[Instance], instance: Instance, origin: Any = None,
                                      **kwargs: Any) -> None:
    if _is_product_deletion(origin):
        return  # its product's receiver deletes all of the product's events in one statement
    Event.objects.filter(instance_id=instance.pk).delete()


def _is_product_deletion(origin: Any) -> bool:
    return isinstance(origin, Product) or (isinstance(origin, QuerySet) and origin.model is Product)
