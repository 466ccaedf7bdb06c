"""The schedules load into django-celery-beat and name tasks the worker really has."""

import pytest
from django.core.management import call_command
from django_celery_beat.models import PeriodicTask

from telemetry_site.celery import app
from telemetry_site.schedules import SCHEDULES


@pytest.mark.django_db
def test_every_schedule_is_loaded_with_its_crontab_and_expiry() -> None:
    call_command("setup_schedules", verbosity=0)
    call_command("setup_schedules", verbosity=0)  # idempotent
    loaded = {
        t.name: (t.task, t.crontab.minute, t.crontab.hour, t.crontab.day_of_week, t.expire_seconds)
        for t in PeriodicTask.objects.select_related("crontab")
    }
    assert loaded == {
        "check-heartbeats": ("apps.instances.tasks.check_heartbeats", "*/5", "*", "*", 240),
        "evaluate-alerts": ("apps.alerts.tasks.evaluate_alerts", "*", "*", "*", 50),
        "build-rollups": ("apps.rollups.tasks.build_rollups", "7", "*", "*", 3000),
        "ensure-event-partitions": ("apps.events.tasks.ensure_partitions", "41", "*", "*", 3000),
        "purge-expired-events": ("apps.events.tasks.purge_expired", "23", "3", "*", 21600),
        "send-weekly-reports": ("apps.rollups.tasks.send_weekly_reports", "30", "6", "1", 43200),
    }


def test_scheduled_tasks_are_registered_and_limited_below_the_visibility_timeout() -> None:
    app.loader.import_default_modules()
    for schedule in SCHEDULES.values():
        task = app.tasks[schedule["task"]]
        hard_limit = task.time_limit or app.conf.task_time_limit
        assert hard_limit < app.conf.broker_transport_options.get("visibility_timeout", 3600)
        assert schedule["expires_seconds"] > 0
