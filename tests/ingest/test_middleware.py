"""IngestFastPathMiddleware: ingest paths skip the browser middlewares and the connection health check."""

import orjson
import pytest
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory

from apps.ingest.middleware import IngestFastPathMiddleware
from apps.products.models import Product


def _must_not_run(request: HttpRequest) -> HttpResponse:
    raise AssertionError("the rest of the middleware chain ran for an ingest path")


def test_ingest_paths_call_the_view_directly() -> None:
    connection.health_check_done = False  # type: ignore[attr-defined]  # set by Django's wrapper; not in the stubs
    response = IngestFastPathMiddleware(_must_not_run)(RequestFactory().get("/v1/batch"))
    assert response.status_code == 405  # the Segment view's answer to a GET
    assert connection.health_check_done  # type: ignore[attr-defined]


def test_other_paths_go_down_the_chain() -> None:
    connection.health_check_done = False  # type: ignore[attr-defined]  # set by Django's wrapper; not in the stubs
    seen: list[str] = []

    def chain(request: HttpRequest) -> HttpResponse:
        seen.append(request.path)
        return HttpResponse("chain")

    middleware = IngestFastPathMiddleware(chain)
    for path in ("/healthz", "/admin/", "/api/v1/instances/", "/v1/unknown"):
        assert middleware(RequestFactory().get(path)).content == b"chain"
    assert seen == ["/healthz", "/admin/", "/api/v1/instances/", "/v1/unknown"]
    assert not connection.health_check_done  # type: ignore[attr-defined]


@pytest.mark.django_db
def test_answers_carry_no_browser_headers(client: Client, product: Product) -> None:
    body = orjson.dumps({"type": "heartbeat", "instance_id": "i-1", "event": "ping", "version": "1.0.0"})
    ingest = client.post("/api/v1/ingest", data=body, content_type="application/json",
                         HTTP_X_TELEMETRY_KEY=product.ingest_key)
    assert ingest.status_code == 200 and ingest.json()["accepted"] == 1
    assert "X-Frame-Options" not in ingest and "Cookie" not in ingest.get("Vary", "")
    assert client.get("/healthz")["X-Frame-Options"] == "DENY"  # everything else keeps them
