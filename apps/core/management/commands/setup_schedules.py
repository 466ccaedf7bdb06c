"""Load telemetry_site.schedules into django-celery-beat (idempotent: create or update by name)."""

from typing import Any

from django.core.management.base import BaseCommand
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from telemetry_site.schedules import SCHEDULES


class Command(BaseCommand):
    help = "Create or update the periodic tasks defined in telemetry_site/schedules.py."

    def handle(self, *args: Any, **options: Any) -> None:
        for name, schedule in SCHEDULES.items():
            fields = {"minute": "*", "hour": "*", "day_of_week": "*", "day_of_month": "*",
                      "month_of_year": "*", "timezone": "UTC", **schedule["crontab"]}
            crontab, _ = CrontabSchedule.objects.get_or_create(**fields)
            _, created = PeriodicTask.objects.update_or_create(
                name=name,
                defaults={"task": schedule["task"], "crontab": crontab, "interval": None,
                          "expire_seconds": schedule["expires_seconds"]},
            )
            self.stdout.write(f"{'Created' if created else 'Updated'} schedule {name}")
        self.stdout.write(self.style.SUCCESS(f"{len(SCHEDULES)} schedule(s) in place."))
