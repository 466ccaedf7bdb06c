from datetime import datetime

from django.db import models


class TimestampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True, editable=False)
    updated_at = models.DateTimeField(auto_now=True, editable=False)

    class Meta:
        abstract = True


class Lease(models.Model):
    """A named role only one process may play at a time (the deployment's one beat), held until
    `expires_at` and renewed by its holder. A row, not a session advisory lock: it works through
    PgBouncer in transaction mode and on SQLite."""

    name = models.CharField(primary_key=True, max_length=100)
    holder = models.CharField(max_length=200)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name}: {self.holder} until {self.expires_at:%Y-%m-%d %H:%M:%S}"

    def is_held(self, now: datetime) -> bool:
        return self.expires_at > now
