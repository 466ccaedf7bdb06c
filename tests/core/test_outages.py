"""Outages answered right: 503 + Retry-After with the database down, a message with the broker down.

The database "goes down" under an execute wrapper that fails every statement with the error the
driver raises when the server is gone; the broker is a Celery app pointed at a closed port.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from celery import Celery
from django.contrib.auth.models import User
from django.db import OperationalError, connection
from django.test import Client
from django_celery_beat.models import IntervalSchedule, PeriodicTask
from rest_framework.authtoken.models import Token

from apps.core.admin import BrokerAwarePeriodicTaskAdmin
from apps.rollups import tasks as rollup_tasks

CLOSED_PORT = 56698  # in this branch's spare range; nothing listens there


@contextmanager
def database_down() -> Iterator[None]:
    def refuse(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        raise OperationalError('connection to server at "127.0.0.1", port 5432 failed: Connection refused')

    with connection.execute_wrapper(refuse):
        yield


@pytest.mark.django_db
def test_staff_api_answers_503_with_retry_after_when_the_database_is_down(staff_user: User) -> None:
    token = Token.objects.create(user=staff_user).key
    client = Client(raise_request_exception=False)
    with database_down():
        response = client.get("/api/v1/instances/", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "unavailable"


@pytest.mark.django_db
def test_api_paths_outside_drf_views_answer_json_503(staff_user: User) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(staff_user)
    with database_down():
        response = client.get("/api/v1/instances/")  # the session lookup fails before DRF runs
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response.json()["code"] == "unavailable"


@pytest.mark.django_db
def test_admin_pages_answer_503_not_500_when_the_database_is_down(staff_user: User) -> None:
    client = Client(raise_request_exception=False)
    client.force_login(staff_user)
    with database_down():
        response = client.get("/admin/instances/instance/")
    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert b"database cannot be reached" in response.content


@pytest.mark.django_db
def test_other_crashes_stay_500(staff_user: User, monkeypatch: pytest.MonkeyPatch) -> None:
    from apps.staff_api.views import instances

    def crash(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(instances.InstanceViewSet, "list", crash)
    client = Client(raise_request_exception=False)
    client.force_login(staff_user)
    response = client.get("/api/v1/instances/")
    assert response.status_code == 500
    assert response.json()["code"] == "server_error"


@pytest.mark.django_db
def test_run_selected_tasks_with_the_broker_down_says_so(staff_user: User,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    every_hour, _ = IntervalSchedule.objects.get_or_create(every=1, period=IntervalSchedule.HOURS)
    task = PeriodicTask.objects.create(name="rollups", task=rollup_tasks.build_rollups.name, interval=every_hour)
    broker_down = Celery("broker-down", broker=f"redis://127.0.0.1:{CLOSED_PORT}/0", set_as_current=False)
    broker_down.conf.broker_connection_retry = False
    broker_down.conf.task_publish_retry_policy = {"max_retries": 1, "interval_start": 0, "interval_step": 0.1}
    monkeypatch.setattr(BrokerAwarePeriodicTaskAdmin, "celery_app", broker_down)
    client = Client(raise_request_exception=False)
    client.force_login(staff_user)
    response = client.post("/admin/django_celery_beat/periodictask/",
                           {"action": "run_tasks", "_selected_action": [task.pk]}, follow=True)
    assert response.status_code == 200
    shown = [str(message) for message in response.context["messages"]]
    assert any("cannot be reached" in message for message in shown), shown
