"""`{% open_alerts_for product=… %}` / `instance=…`: the open alerts block any admin page can include."""

from typing import Any

from django import template
from django.utils import timezone

from apps.alerts.selectors import open_alerts

register = template.Library()


@register.simple_tag
def open_alerts_for(product: Any = None, instance: Any = None) -> list[Any]:
    if instance is not None:
        alerts = open_alerts(instance_id=instance.pk)
    elif product is not None:
        alerts = open_alerts(product_id=product.pk)
    else:
        alerts = open_alerts()
    now = timezone.now()
    for alert in alerts:  # at most OPEN_ALERTS_SHOWN
        alert.muted = alert.is_muted(now)
    return alerts
