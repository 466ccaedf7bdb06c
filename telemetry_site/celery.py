import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "telemetry_site.settings.base")

app = Celery("telemetry_site")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
