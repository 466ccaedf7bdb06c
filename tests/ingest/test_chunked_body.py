"""Bodies sent with Transfer-Encoding: chunked (no Content-Length), as gunicorn hands them over."""

import gzip
import io
from typing import Any

import orjson
import pytest
from django.test import RequestFactory

from apps.core.exceptions import ApiError
from apps.events.models import Event
from apps.ingest.decoding import read_body
from apps.ingest.urls import urlpatterns
from apps.products.models import Product


def chunked_request(body: bytes, *, terminated: bool = True, **headers: Any) -> Any:
    request = RequestFactory().post("/api/v1/ingest", data=body, content_type="application/json",
                                    HTTP_TRANSFER_ENCODING="chunked", **headers)
    del request.META["CONTENT_LENGTH"]
    # What gunicorn passes: the decoded chunks as a stream that ends with the body.
    request.META["wsgi.input"] = io.BytesIO(body)
    request.META["wsgi.input_terminated"] = terminated
    request._stream = io.BytesIO(b"")  # Django's own stream reads nothing without Content-Length
    return request


def test_a_chunked_body_is_read_whole() -> None:
    body = b'{"type": "heartbeat"}' * 1000
    assert read_body(chunked_request(body), limit=1_000_000) == body


def test_a_chunked_gzip_body_is_inflated() -> None:
    body = b'{"type": "heartbeat"}'
    request = chunked_request(gzip.compress(body), HTTP_CONTENT_ENCODING="gzip")
    assert read_body(request, limit=1000) == body


def test_a_chunked_body_over_the_limit_is_413_after_reading_one_byte_more() -> None:
    request = chunked_request(b"x" * 5000)
    with pytest.raises(ApiError) as refused:
        read_body(request, limit=1000)
    assert refused.value.status_code == 413
    assert request.META["wsgi.input"].tell() == 1001


def test_a_server_that_cannot_end_a_chunked_body_gets_411() -> None:
    with pytest.raises(ApiError) as refused:
        read_body(chunked_request(b"{}", terminated=False), limit=1000)
    assert refused.value.status_code == 411


def test_a_body_without_length_or_chunks_is_empty() -> None:
    request = RequestFactory().post("/api/v1/ingest", data=b"", content_type="application/json")
    request.META.pop("CONTENT_LENGTH", None)
    assert read_body(request, limit=1000) == b""


@pytest.mark.django_db
def test_a_chunked_heartbeat_is_stored(product: Product) -> None:
    view = next(pattern.callback for pattern in urlpatterns if pattern.name == "native")
    body = orjson.dumps({"type": "heartbeat", "instance_id": "i-1", "event": "ping", "version": "1.0.0",
                         "message_id": "chunked-1"})
    response = view(chunked_request(body, HTTP_X_TELEMETRY_KEY=product.ingest_key))
    assert response.status_code == 200, response.content
    assert Event.objects.filter(message_id="chunked-1").exists()
