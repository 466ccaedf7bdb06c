"""A real Celery worker process runs the scheduled heartbeat check against the test database.

Broker: the filesystem transport in the test's own folder, or Redis when REDIS_URL is set. The
worker gets the test database through DATABASE_URL (on SQLite the test database is a file, see
telemetry_site/settings/test.py) and its own queue, so no message from another run reaches it.
"""

import json
import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from apps.instances.models import Instance, StatusChange
from apps.products.models import Product
from telemetry_site.celery import app

ROOT = Path(__file__).resolve().parents[2]


def _test_database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _start_worker(queue: str) -> subprocess.Popen[bytes]:
    env = os.environ | {"DJANGO_SETTINGS_MODULE": "telemetry_site.settings.test",
                        "DATABASE_URL": _test_database_url()}
    if not settings.REDIS_URL:
        env["TELEMETRY_TEST_BROKER_DIR"] = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]
    command = [sys.executable, "-m", "celery", "-A", "telemetry_site", "worker", "--pool", "solo",
               "--concurrency", "1", "--queues", queue, "--without-gossip", "--without-mingle",
               "--without-heartbeat", "--loglevel", "INFO"]
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def _stop(worker: subprocess.Popen[bytes]) -> str:
    worker.terminate()
    try:
        output, _ = worker.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
        output, _ = worker.communicate()
    return output.decode(errors="replace")


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_worker_runs_the_scheduled_heartbeat_check(make_product) -> None:
    product: Product = make_product("short", heartbeat_interval=60, stale_after=120, dead_after=3600)
    silent_since = (timezone.now() - timedelta(minutes=10)).replace(microsecond=0)
    Instance.objects.create(product=product, instance_id="silent", status="active", first_seen=silent_since,
                            last_seen=silent_since)
    Instance.objects.create(product=product, instance_id="alive", status="active", first_seen=silent_since,
                            last_seen=timezone.now())
    call_command("setup_schedules", verbosity=0)
    scheduled = PeriodicTask.objects.get(name="check-heartbeats")

    queue = f"test-worker-{uuid.uuid4().hex}"
    worker = _start_worker(queue)
    try:
        # What beat does when the crontab fires: send the stored task with its arguments and expiry.
        app.send_task(scheduled.task, args=json.loads(scheduled.args), kwargs=json.loads(scheduled.kwargs),
                      queue=queue, expires=scheduled.expire_seconds)
        deadline = time.monotonic() + 90
        while not StatusChange.objects.exists() and time.monotonic() < deadline and worker.poll() is None:
            time.sleep(0.5)
    finally:
        log = _stop(worker)

    changes = list(StatusChange.objects.values_list("instance__instance_id", "old", "new", "at"))
    assert changes == [("silent", "active", "stale", silent_since + timedelta(seconds=120))], log
    assert dict(Instance.objects.values_list("instance_id", "status")) == {"silent": "stale", "alive": "active"}
    assert "apps.instances.tasks.check_heartbeats" in log and "succeeded" in log, log
