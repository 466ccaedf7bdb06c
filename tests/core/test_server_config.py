"""The server's configuration: an access log without addresses or keys, jobs that survive kills."""

import base64
import logging
import runpy
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from django.conf import settings
from gunicorn.config import Config
from gunicorn.glogging import Logger

from telemetry_site.celery import app

GUNICORN_CONF = Path(__file__).resolve().parents[2] / "docker" / "gunicorn.conf.py"
ADDRESS, KEY, QUERY_KEY, REFERRER_ADDRESS = "198.51.100.7", "tk_live_secret", "tk_query_secret", "10.20.30.40"


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def test_the_access_log_writes_no_client_address_no_key_and_no_query() -> None:
    conf = runpy.run_path(str(GUNICORN_CONF))
    config = Config()
    config.set("accesslog", "-")
    config.set("access_log_format", conf["access_log_format"])
    logger = Logger(config)
    environ = {"REMOTE_ADDR": ADDRESS, "HTTP_X_FORWARDED_FOR": ADDRESS, "REQUEST_METHOD": "POST",
               "RAW_URI": f"/api/v1/ingest?key={QUERY_KEY}", "PATH_INFO": "/api/v1/ingest",
               "QUERY_STRING": f"key={QUERY_KEY}", "SERVER_PROTOCOL": "HTTP/1.1",
               "HTTP_AUTHORIZATION": "Basic " + base64.b64encode(f"{KEY}:".encode()).decode(),
               "HTTP_REFERER": f"http://{REFERRER_ADDRESS}/admin", "HTTP_USER_AGENT": "analytics-python/2.3"}
    # gunicorn reads only these attributes of its request and response.
    request: Any = SimpleNamespace(headers=[("X-TELEMETRY-KEY", KEY), ("X-FORWARDED-FOR", ADDRESS)])
    response: Any = SimpleNamespace(status="200 OK", sent=17, headers=[])
    written = _Lines()
    logger.access_log.addHandler(written)
    logger.access(response, request, environ, timedelta(milliseconds=12))
    logger.access_log.removeHandler(written)
    line = written.lines[-1]
    assert '"POST /api/v1/ingest HTTP/1.1" 200 17 12ms "analytics-python/2.3"' in line
    for secret in (ADDRESS, KEY, QUERY_KEY, REFERRER_ADDRESS):
        assert secret not in line


def test_tasks_are_acknowledged_when_done_and_handed_back_when_their_worker_dies() -> None:
    assert app.conf.task_acks_late is True
    assert app.conf.task_reject_on_worker_lost is True
    assert app.conf.worker_prefetch_multiplier == 1


@pytest.mark.skipif(not settings.REDIS_URL, reason="the visibility timeout is Redis's")
def test_a_dead_workers_task_comes_back_after_the_longest_task_could_have_run() -> None:
    visibility = app.conf.broker_transport_options["visibility_timeout"]
    assert app.conf.task_time_limit < visibility <= 2 * app.conf.task_time_limit


def test_a_worker_switches_to_the_job_statement_timeout_when_it_starts() -> None:
    from celery.signals import worker_init

    from telemetry_site.celery import use_job_statement_timeout

    assert use_job_statement_timeout in [receiver() for _, receiver in worker_init.receivers]
