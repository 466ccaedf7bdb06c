"""The database router's decisions (apps/core/db_router.py) and the replica's status (apps/core/replica.py).

The suite has no second database, so a stand-in alias plays the replica where only the decision is
checked; tests/scale/test_replica.py runs the same code against a real streaming replica.
"""

import time
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.db import DEFAULT_DB_ALIAS, OperationalError
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.test import RequestFactory, override_settings
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.core import db_router, replica
from apps.core.db_router import (
    PIN_COOKIE,
    PrimaryPinMiddleware,
    ReplicaReadsMixin,
    ReplicaRouter,
    current_read_alias,
    reads_from_replica,
    replica_for,
)
from apps.core.replica import ReplicaStatus
from apps.products.models import Product

STAND_IN = "replica-stand-in"


@pytest.fixture
def replica_up(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A configured replica that answered its last check with a small lag; records when it is marked down."""
    marked: list[str] = []
    monkeypatch.setattr(db_router, "replica_alias", lambda: STAND_IN)
    monkeypatch.setattr(db_router, "replica_status",
                        lambda: ReplicaStatus(configured=True, reachable=True, lag_seconds=1.5))
    monkeypatch.setattr(db_router, "last_replica_status",
                        lambda: ReplicaStatus(configured=True, reachable=True, lag_seconds=1.5))
    monkeypatch.setattr(db_router, "replica_mark_down", marked.append)
    return marked


def _pinned(request: HttpRequest, until: float) -> HttpRequest:
    response = HttpResponse()
    response.set_signed_cookie(PIN_COOKIE, f"{until:.3f}", salt=db_router._PIN_SALT)
    request.COOKIES[PIN_COOKIE] = response.cookies[PIN_COOKIE].value
    return request


def test_router_reads_from_the_primary_by_default_and_writes_and_migrates_only_there() -> None:
    router = ReplicaRouter()
    assert router.db_for_read(Product) == DEFAULT_DB_ALIAS
    assert router.db_for_write(Product) == DEFAULT_DB_ALIAS
    assert router.allow_migrate(DEFAULT_DB_ALIAS, "products") is True
    assert router.allow_migrate("replica", "products") is False
    assert current_read_alias() == DEFAULT_DB_ALIAS


def test_without_a_replica_every_view_reads_from_the_primary() -> None:
    # The suite runs with no replica, or with one that mirrors the test database: either way, none.
    assert replica.replica_alias() is None
    assert replica.replica_status().state == "none"
    seen: list[str] = []

    @reads_from_replica
    def view(request: HttpRequest) -> HttpResponse:
        seen.append(current_read_alias())
        return HttpResponse("ok")

    assert view(RequestFactory().get("/")).status_code == 200
    assert seen == [DEFAULT_DB_ALIAS]


def test_only_unpinned_gets_of_a_usable_replica_go_to_it(replica_up: list[str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    factory = RequestFactory()
    assert replica_for(factory.get("/")) == STAND_IN
    assert replica_for(factory.head("/")) == STAND_IN
    assert replica_for(factory.post("/")) is None
    # A client that wrote lately reads from the primary until its pin runs out.
    assert replica_for(_pinned(factory.get("/"), time.time() + 30)) is None
    assert replica_for(_pinned(factory.get("/"), time.time() - 1)) == STAND_IN
    forged = factory.get("/")
    forged.COOKIES[PIN_COOKIE] = f"{time.time() + 30}"  # unsigned: ignored
    assert replica_for(forged) == STAND_IN

    monkeypatch.setattr(db_router, "replica_status",
                        lambda: ReplicaStatus(configured=True, reachable=True, lag_seconds=45.0))
    assert replica_for(factory.get("/")) is None  # lags too far behind
    monkeypatch.setattr(db_router, "replica_status", lambda: ReplicaStatus(configured=True, error="OperationalError"))
    assert replica_for(factory.get("/")) is None  # down


def test_a_marked_view_reads_from_the_replica_and_the_router_follows(replica_up: list[str]) -> None:
    seen: list[str] = []

    @reads_from_replica
    def view(request: HttpRequest) -> HttpResponse:
        seen.extend([current_read_alias(), ReplicaRouter().db_for_read(Product),
                     ReplicaRouter().db_for_write(Product)])
        return HttpResponse("ok")

    view(RequestFactory().get("/"))
    assert seen == [STAND_IN, STAND_IN, DEFAULT_DB_ALIAS]
    assert current_read_alias() == DEFAULT_DB_ALIAS  # nothing leaks past the view


def test_a_failing_replica_is_marked_down_and_the_view_runs_again_on_the_primary(replica_up: list[str]) -> None:
    seen: list[str] = []

    @reads_from_replica
    def view(request: HttpRequest) -> HttpResponse:
        seen.append(current_read_alias())
        if current_read_alias() == STAND_IN:
            raise OperationalError("connection refused")
        return HttpResponse("from the primary")

    response = view(RequestFactory().get("/"))
    assert response.content == b"from the primary"
    assert seen == [STAND_IN, DEFAULT_DB_ALIAS]
    assert replica_up == ["OperationalError"]


def test_a_failing_primary_is_not_hidden(replica_up: list[str]) -> None:
    @reads_from_replica
    def view(request: HttpRequest) -> HttpResponse:
        raise OperationalError("the primary is down too")

    with pytest.raises(OperationalError):
        view(RequestFactory().get("/"))


class _ProbeView(ReplicaReadsMixin, APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    seen: list[str] = []

    def perform_authentication(self, request: Request) -> None:
        self.seen.append(f"initial:{current_read_alias()}")
        super().perform_authentication(request)

    def get(self, request: Request) -> Response:
        self.seen.append(current_read_alias())
        if current_read_alias() == STAND_IN:
            raise OperationalError("replica went away")
        return Response({"ok": True})


def test_drf_views_authenticate_on_the_primary_and_fall_back_when_the_replica_fails(replica_up: list[str]) -> None:
    _ProbeView.seen = []
    response = _ProbeView.as_view()(RequestFactory().get("/"))
    assert response.status_code == 200  # not the 503 the first attempt answered
    assert _ProbeView.seen == [f"initial:{DEFAULT_DB_ALIAS}", STAND_IN, f"initial:{DEFAULT_DB_ALIAS}",
                               DEFAULT_DB_ALIAS]
    assert replica_up == ["unavailable during a read"]


def test_a_streamed_body_is_read_where_the_view_read(replica_up: list[str]) -> None:
    seen: list[str] = []

    def rows() -> Iterator[str]:
        for number in range(3):
            seen.append(current_read_alias())
            yield f"{number}\n"

    @reads_from_replica
    def view(request: HttpRequest) -> StreamingHttpResponse:
        return StreamingHttpResponse(rows())

    response = view(RequestFactory().get("/"))
    assert seen == []  # nothing read yet: the body is produced after the view returned
    assert response.getvalue() == b"0\n1\n2\n"
    assert seen == [STAND_IN] * 3
    assert current_read_alias() == DEFAULT_DB_ALIAS


@override_settings(DATABASE_REPLICA_PIN_SECONDS=5.0)
def test_a_successful_write_by_a_signed_in_user_pins_that_client_to_the_primary(
        replica_up: list[str], staff_user: Any) -> None:
    def middleware(status: int) -> PrimaryPinMiddleware:
        return PrimaryPinMiddleware(lambda request: HttpResponse(status=status))

    factory = RequestFactory()
    post = factory.post("/admin/products/product/1/change/")
    post.user = staff_user
    response = middleware(302)(post)
    cookie = response.cookies[PIN_COOKIE]
    check = factory.get("/")
    check.COOKIES[PIN_COOKIE] = cookie.value
    until = db_router.pinned_until(check)
    # The pin interval plus the replica's lag at the time of the write.
    assert time.time() + 5.0 < until <= time.time() + 6.5 + 1
    assert cookie["httponly"] and int(cookie["max-age"]) >= 6
    assert replica_for(check) is None

    for method, user, status in (("get", staff_user, 200), ("post", staff_user, 400), ("post", AnonymousUser(), 200)):
        request = getattr(factory, method)("/")
        request.user = user
        assert PIN_COOKIE not in middleware(status)(request).cookies


def test_without_a_replica_no_pin_cookie_is_set(staff_user: Any) -> None:
    request = RequestFactory().post("/")
    request.user = staff_user
    assert PIN_COOKIE not in PrimaryPinMiddleware(lambda r: HttpResponse())(request).cookies


@override_settings(DATABASE_REPLICA_MAX_LAG=30.0)
def test_replica_status_states_and_descriptions() -> None:
    assert ReplicaStatus(configured=False).state == "none"
    down = ReplicaStatus(configured=True, error="OperationalError")
    assert down.state == "down" and not down.usable and "reads use the primary" in down.describe()
    assert ReplicaStatus(configured=True, reachable=True, lag_seconds=2.0).state == "ok"
    lagging = ReplicaStatus(configured=True, reachable=True, lag_seconds=31.0)
    assert lagging.state == "lagging" and "above 30 s" in lagging.describe()
    # Reachable, but nothing replayed yet and behind: its lag is unknown, so it is not used.
    assert ReplicaStatus(configured=True, reachable=True, lag_seconds=None).state == "lagging"


@pytest.mark.django_db
def test_healthz_reports_the_replica_only_when_there_is_one(client: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert "replica" not in client.get("/healthz").json()
    from apps.core import views

    monkeypatch.setattr(views, "replica_status",
                        lambda: ReplicaStatus(configured=True, reachable=True, lag_seconds=3.14159))
    body = client.get("/healthz").json()
    assert body["replica"] == "ok" and body["replica_lag_seconds"] == 3.1
    monkeypatch.setattr(views, "replica_status", lambda: ReplicaStatus(configured=True, error="OperationalError"))
    answer = client.get("/healthz")
    assert answer.status_code == 200 and answer.json()["replica"] == "down"


def test_the_fleet_pages_show_the_replica_lag(client: Any, staff_user: Any, product: Product,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from apps.rollups import views

    client.force_login(staff_user)
    assert 'id="replica-status"' not in client.get("/admin/fleet/").content.decode()
    monkeypatch.setattr(views, "replica_status",
                        lambda: ReplicaStatus(configured=True, reachable=True, lag_seconds=12.5))
    for url in ("/admin/fleet/", f"/admin/fleet/{product.slug}/"):
        page = client.get(url).content.decode()
        assert 'data-state="ok"' in page and 'data-lag-seconds="12.5"' in page and "Read replica lag 12.5 s" in page
