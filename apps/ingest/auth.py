"""Which product a request is for: its public ingest key, from wherever the sender's SDK puts it.

HTTP Basic username (Segment, empty password), `Authorization: Bearer`, `X-Telemetry-Key`,
`?key=`, the URL path (senders whose payload carries none), then the body: `writeKey` (Segment),
`api_key` / `token` (PostHog, also on each event). `IngestKeyAuthentication` is the DRF face of
this: the product becomes `request.auth`; the body is parsed only when no other place had a key.
"""

import base64
import binascii
from typing import Any

from django.http import HttpRequest
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from apps.core.exceptions import ApiError
from apps.ingest.product_cache import ProductInfo, product_for_key

_BODY_FIELDS = ("writeKey", "write_key", "api_key", "token")


def key_from_request(request: HttpRequest) -> str:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, credentials = header.partition(" ")
    if scheme.lower() == "basic" and credentials:
        try:
            username = base64.b64decode(credentials.strip(), validate=True).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            raise ApiError(code="invalid_key", message="The Basic credentials are not valid base64.",
                           status_code=401) from None
        if username:
            return username
    if scheme.lower() == "bearer" and credentials.strip():
        return credentials.strip()
    return request.META.get("HTTP_X_TELEMETRY_KEY", "").strip() or request.GET.get("key", "").strip()


def key_from_body(body: Any) -> str:
    """The key a body carries: on the body itself, or on its first event (PostHog)."""
    candidates: list[Any] = []
    if isinstance(body, dict):
        candidates.append(body)
        batch = body.get("batch")
        if isinstance(batch, list) and batch:
            candidates.append(batch[0])
    elif isinstance(body, list) and body:
        candidates.append(body[0])
    for candidate in candidates:
        if not isinstance(candidate, dict):
            continue
        properties = candidate.get("properties")
        for value in (*(candidate.get(name) for name in _BODY_FIELDS),
                      properties.get("token") if isinstance(properties, dict) else None):
            if isinstance(value, str) and value.strip():
                return value.strip()
    return ""


def authenticate(key: str, *, fresh: bool = False) -> ProductInfo:
    if not key:
        raise ApiError(code="missing_key", status_code=401,
                       message="No ingest key: send it as the Basic username, X-Telemetry-Key, ?key= or in the body.")
    product = product_for_key(key, fresh=fresh)
    if product is None:
        raise ApiError(code="unknown_key", message="This ingest key belongs to no product.", status_code=401)
    return product


class KeyHolder:
    """Whoever holds a product's ingest key: an instance, a CLI, an SDK. Not a user of this site."""

    is_authenticated = True
    is_staff = False

    def __init__(self, key: str) -> None:
        self.key = key


class IngestKeyAuthentication(BaseAuthentication):
    """The product a request is for, found by its key: `request.user` holds the key, `request.auth` the product.

    A wrong key in a header, the query or the path is refused before the body is read. Only a
    request with no key there has its body parsed here (`request.data`, parsed once: the view
    reads the same object).
    """

    def authenticate(self, request: Request) -> tuple[KeyHolder, ProductInfo]:
        key = request.parser_context.get("kwargs", {}).get("key", "") or key_from_request(request._request)
        if not key:
            key = key_from_body(request.data)
        return KeyHolder(key), authenticate(key)

    def authenticate_header(self, request: Request) -> str:
        return 'Basic realm="ingest"'
