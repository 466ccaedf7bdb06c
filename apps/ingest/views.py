"""Ingest endpoints: one lean DRF view, configured per wire protocol in urls.py.

DRF does the request plumbing: `IngestKeyAuthentication` finds the product (`request.auth`),
`IngestBodyParser` reads the body (size limit, gzip, JSON under any label, PostHog's form),
throttles come from `TELEMETRY_INGEST_THROTTLE_CLASSES`, and the project's one exception
handler (`apps.core.exceptions`) answers errors as JSON `{"code", "message"}`: 400 bad body,
401 key, 405, 413 size, 503 (with Retry-After) when the database is unavailable, never a 2xx
for something not stored. The handler stores with the pipeline in one transaction and answers
after commit. What DRF would spend on every request for browsers and content negotiation is
switched off: one parser, one renderer, no negotiation, no permission classes, no versioning.
CSRF does not apply: these are machine endpoints authenticated by key, called cross-origin by SDKs.
"""

import logging
from datetime import datetime
from typing import Any, cast

import orjson
from django.conf import settings
from django.http import HttpRequest
from django.utils import timezone
from django.utils.module_loading import import_string
from rest_framework.exceptions import MethodNotAllowed
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView

from apps.core.exceptions import ApiError
from apps.ingest import answer, group_commit, pipeline, protocols, signing
from apps.ingest.auth import IngestKeyAuthentication, KeyHolder, authenticate
from apps.ingest.envelope import Parsed, ProtocolError, RecordError
from apps.ingest.group_commit import Write
from apps.ingest.parsers import FirstChoiceNegotiation, IngestBodyParser, IngestRequest, OrjsonRenderer
from apps.ingest.product_cache import ProductChanged, ProductInfo
from apps.ingest.schema import IngestSchema

logger = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 30
# An answer lists at most this many record errors, then says how many it left out (`errors_omitted`),
# so a batch of bad records cannot make the answer larger than the request.
MAX_REPORTED_ERRORS = 100
# A request prepared against a product that staff changed meanwhile is prepared again; a product
# changing under every attempt fails the request like an unavailable database.
_PRODUCT_CHANGED_ATTEMPTS = 3
CORS_HEADERS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "POST, OPTIONS",
    "Access-Control-Allow-Headers": "Authorization, Content-Type, Content-Encoding, X-Telemetry-Key, X-Telemetry-Nonce",
    "Access-Control-Expose-Headers": signing.HEADER,  # so a browser (Hasura's Console) can verify answers
    "Access-Control-Max-Age": "86400",
}
# Imported once: the throttles are chosen by deployment, not per request.
INGEST_THROTTLE_CLASSES: list[type[BaseThrottle]] = [
    import_string(path) for path in settings.TELEMETRY_INGEST_THROTTLE_CLASSES]


class IngestView(APIView):
    """A view for one protocol; `style` picks the answer shape its clients expect
    (segment: {"success": true}, posthog: {"status": 1}, native, product)."""

    protocol = ""
    style = ""
    default_type: str | None = None  # Segment's per-type paths (/v1/track): the type a message lacks

    http_method_names = ["post", "options"]
    authentication_classes = [IngestKeyAuthentication]
    permission_classes: list[Any] = []
    throttle_classes = INGEST_THROTTLE_CLASSES
    parser_classes = [IngestBodyParser]
    renderer_classes = [OrjsonRenderer]
    content_negotiation_class = FirstChoiceNegotiation
    versioning_class = None
    schema = IngestSchema()
    # Read by the project's exception handler: SDKs parse every answer as JSON, even a server error.
    unavailable_message = "The database is unavailable; nothing was stored. Retry later."
    server_error_message = "The server failed; nothing was stored. Retry later."
    throttled_code = "rate_limited"  # over a rate limit of apps/ingest/throttles.py (docs/ingest.md)

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        return IngestRequest(request, parsers=self.get_parsers(), authenticators=self.get_authenticators(),
                             negotiator=self.get_content_negotiator(), parser_context=self.get_parser_context(request))

    @property
    def default_response_headers(self) -> dict[str, str]:
        return {**CORS_HEADERS, "Allow": "POST, OPTIONS"}

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if request.method != "POST":
            # A preflight carries no key, nor does a wrong method: both are answered before authentication.
            if request.method != "OPTIONS":
                raise MethodNotAllowed(request.method or "")
            return
        super().initial(request, *args, **kwargs)

    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:  # type: ignore[override]
        return Response(status=204)

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:  # the path key: see the authenticator
        now = timezone.now()
        nonce = signing.request_nonce(request.META) if self.style in signing.SIGNED_STYLES else ""
        body = request.data  # parsed once: the authenticator may have read it for a key
        holder = cast(KeyHolder, request.user)
        product = cast(ProductInfo, request.auth)
        try:
            for _ in range(_PRODUCT_CHANGED_ATTEMPTS):
                try:
                    return self._store(request, now, product, holder.key, body, nonce)
                except ProductChanged:
                    # Staff changed the product after this process cached it: judge the request by the
                    # product as it is now.
                    product = authenticate(holder.key, fresh=True)
        except group_commit.GroupCommitTimeout as exc:
            logger.warning("ingest: %s", exc)
            raise ApiError(code="unavailable", status_code=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
                           message="The write did not finish in time. Retry later: a retry is stored once.") from None
        raise ApiError(code="unavailable", message="The product changed while this request was stored; nothing was "
                       "stored. Retry.", status_code=503, headers={"Retry-After": "1"})

    def _store(self, request: Request, now: datetime, product: ProductInfo, key: str, body: Any,
               nonce: str) -> Response:
        style = self.style
        options = {"default_type": self.default_type} if self.default_type else {}
        try:
            parsed = protocols.parse(self.protocol, body, rules=product.rules, **options)
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
            return Response({"success": True, **errors})
        if style == "posthog":
            return Response({"status": 1, **errors})
        base = {**answer.counts(stored, duplicates_in_request=prepared.duplicates, errors=shown), **omitted}
        always = style == "product"
        content = orjson.dumps(answer.native(product, stored, prepared.envelopes, now, base, always=always))
        # Signed after the commit, off the database path (docs/signed-answers.md).
        signature = signing.sign_answer(content, nonce=nonce, instance_id=signing.answered_instance_id(
            prepared.envelopes, always=always, sent_ids=sent_ids))
        return Response(content, headers={signing.HEADER: signature} if signature else None)


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
