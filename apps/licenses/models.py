from django.db import models

from apps.core.models import TimestampedModel


class License(TimestampedModel):
    """A licence seen in pings (Appsmith/FlowFuse `license.id`, Hasura `license_jti`).

    The instances that report it point at it through `Instance.license`.
    """

    product = models.ForeignKey("products.Product", on_delete=models.CASCADE, related_name="licenses")
    license_id = models.CharField(max_length=200)
    type = models.CharField(max_length=64, blank=True)
    first_seen = models.DateTimeField()
    last_seen = models.DateTimeField()

    class Meta:
        ordering = ["-last_seen"]
        constraints = [models.UniqueConstraint(fields=["product", "license_id"], name="license_unique_id")]
        indexes = [models.Index(fields=["product", "type"], name="license_product_type")]

    def __str__(self) -> str:
        return f"{self.license_id} ({self.type or 'unknown type'})"
