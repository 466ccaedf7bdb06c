"""Ingest endpoints: plain Django views (no DRF on the hot path), one per wire protocol.

Each view: authenticate the key, read and decode the body, parse with its protocol, prepare
with the pipeline, store in one transaction, answer after commit. Errors are JSON
`{"code", "message"}`: 400 bad body, 401 key, 413 size, 503 (with Retry-After) when the
database is unavailable, never a 2xx for something not stored. CSRF does not apply: these are
machine endpoints authenticated by key, called cross-origin by SDKs.
"""

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any

import orjson
from django.conf import settings
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from apps.core.exceptions import ApiError, error_body
from apps.ingest import answer, group_commit, pipeline, protocols, signing
from apps.ingest.auth import authenticate, key_from_body, key_from_request
from apps.ingest.decoding import decode_json, read_body
from apps.ingest.envelope import Parsed, ProtocolError, RecordError
from apps.ingest.products import ProductChanged, ProductInfo
from apps.ingest.writer import Write

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30
# An answer lists at most this many record errors, then says how many it left out (`errors_omitted`),
# so a batch of bad records cannot make the answer larger than the request.
MAX_REPORTED_ERRORS = 100
# A request prepared against a product that staff changed meanwhile is prepared again; a product
# changing under every attempt fails the request like an unavailable database.
_PRODUCT_CHANGED_ATTEMPTS = 3
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Content-Encoding, X-Telemetry-Key, X-Telemetry-Nonce",
    "Access-Control-Expose-Headers": signing.HEADER,  # so a browser (Hasura's Console) can verify answers
    "Access-Control-Max-Age": "86400",
}


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    """`data` is serialized, unless it already is (bytes: a signed answer's exact body)."""
    content = data if isinstance(data, bytes) else orjson.dumps(data)
    response = HttpResponse(content, status=status, content_type="application/json")
    for name, value in {**_CORS, **(headers or {})}.items():
        response[name] = value
    return response


def ingest_view(protocol: str, style: str, **options: Any) -> Callable[[HttpRequest], HttpResponse]:
    """A view for one protocol; `style` picks the answer shape its clients expect
    (segment: {"success": true}, posthog: {"status": 1}, native, product)."""

    @csrf_exempt
    def view(request: HttpRequest, key: str = "") -> HttpResponse:
        if request.method == "OPTIONS":
            return json_response({}, status=204)
        if request.method != "POST":
            return json_response(error_body("method_not_allowed", "Use POST."), status=405, headers={"Allow": "POST"})
        try:
            return _ingest(request, protocol, style, options, path_key=key)
        except ApiError as exc:
            return json_response(error_body(exc.error_code, exc.message, exc.details), exc.status_code,
                                 exc.extra_headers)
        except group_commit.GroupCommitTimeout as exc:
            logger.warning("ingest: %s", exc)
            return json_response(error_body("unavailable", "The write did not finish in time. Retry later: a "
                                            "retry is stored once."), 503, {"Retry-After": str(RETRY_AFTER_SECONDS)})
        except (OperationalError, InterfaceError) as exc:
            logger.warning("ingest: database unavailable: %s", exc)
            return json_response(error_body("unavailable", "The database is unavailable; nothing was stored. "
                                            "Retry later."), 503, {"Retry-After": str(RETRY_AFTER_SECONDS)})
        except Exception:
            # SDKs parse every answer as JSON; a bug must still answer JSON (and is logged with its traceback).
            logger.exception("ingest: unexpected error on %s", request.path)
            return json_response(error_body("server_error", "The server failed; nothing was stored. Retry later."),
                                 500)

    view.__name__ = f"ingest_{protocol}_{options.get('default_type', style)}"
    return view


def _ingest(request: HttpRequest, protocol: str, style: str, options: dict[str, Any], *,
            path_key: str = "") -> HttpResponse:
    now = timezone.now()
    key = path_key or key_from_request(request)
    product = authenticate(key) if key else None  # refuse a wrong key before reading the body
    nonce = signing.request_nonce(request.META) if style in signing.SIGNED_STYLES else ""
    raw = read_body(request, limit=settings.TELEMETRY_MAX_BODY_BYTES)
    body = decode_json(raw, content_type=request.META.get("CONTENT_TYPE", ""))
    key = key or key_from_body(body)
    if product is None:
        product = authenticate(key)
    for _ in range(_PRODUCT_CHANGED_ATTEMPTS):
        try:
            return _store(request, protocol, style, options, now, product, key, body, nonce)
        except ProductChanged:
            # Staff changed the product after this process cached it: judge the request by the product as it is now.
            product = authenticate(key, fresh=True)
    raise ApiError(code="unavailable", message="The product changed while this request was stored; nothing was "
                   "stored. Retry.", status_code=503, headers={"Retry-After": "1"})


def _store(request: HttpRequest, protocol: str, style: str, options: dict[str, Any], now: datetime,
           product: ProductInfo, key: str, body: Any, nonce: str) -> HttpResponse:
    try:
        parsed = protocols.parse(protocol, body, rules=product.rules, **options)
    except ProtocolError as exc:
        raise ApiError(code=exc.code, message=exc.message, status_code=exc.status_code) from None
    _refuse_foreign_tokens(parsed, key)
    # The signature names an instance by the id it sent, whatever the pipeline makes of ids.
    sent_ids = {e.index: e.instance_id for e in parsed.envelopes} if style in signing.SIGNED_STYLES else {}
    prepared = pipeline.prepare(parsed, received_at=now, request_ip=request.META.get("REMOTE_ADDR", ""))
    if prepared.errors and not prepared.envelopes:
        raise _rejected(prepared.errors)
    stored = group_commit.store(Write(product_id=product.pk, product_stamp=product.stamp,
                                      envelopes=prepared.envelopes, now=now))
    shown = prepared.errors[:MAX_REPORTED_ERRORS]
    omitted = {"errors_omitted": len(prepared.errors) - len(shown)} if len(prepared.errors) > len(shown) else {}
    errors = {"errors": [e.as_dict() for e in shown], **omitted} if shown else {}
    if style == "segment":
        return json_response({"success": True, **errors})
    if style == "posthog":
        return json_response({"status": 1, **errors})
    base = {**answer.counts(stored, duplicates_in_request=prepared.duplicates, errors=shown), **omitted}
    always = style == "product"
    content = orjson.dumps(answer.native(product, stored, prepared.envelopes, now, base, always=always))
    # Signed after the commit, off the database path (docs/signed-answers.md).
    signature = signing.sign_answer(content, nonce=nonce, instance_id=signing.answered_instance_id(
        prepared.envelopes, always=always, sent_ids=sent_ids))
    return json_response(content, headers={signing.HEADER: signature} if signature else None)


def _refuse_foreign_tokens(parsed: Parsed, key: str) -> None:
    """A PostHog batch may carry a token on each event; events for another product are refused by index."""
    foreign = [e for e in parsed.envelopes if e.token and e.token != key]
    if foreign:
        parsed.errors += [RecordError(e.index, "unknown_key", "This event's token is not the request's key.")
                          for e in foreign]
        parsed.envelopes = [e for e in parsed.envelopes if not e.token or e.token == key]


def _rejected(errors: list[RecordError]) -> ApiError:
    details = [error.as_dict() for error in errors[:MAX_REPORTED_ERRORS]]
    if len(errors) == 1:
        return ApiError(code=errors[0].code, message=errors[0].message, details=details)
    listed = f" The first {len(details)} of {len(errors)} are listed." if len(errors) > len(details) else ""
    return ApiError(code="invalid_records", message=f"No record in the request is valid.{listed}", details=details)
