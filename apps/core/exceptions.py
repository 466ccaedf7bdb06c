"""One error shape for every JSON endpoint: {"code": ..., "message": ...} (plus details when useful).

`api_exception_handler` is DRF's EXCEPTION_HANDLER for every API view, staff and ingest alike. A
view may word the 503 for its callers (`unavailable_message`), name its 429 (`throttled_code`; else
DRF's `throttled`) and ask for unexpected errors to be answered as JSON 500 too
(`server_error_message`): SDKs parse every answer as JSON.
"""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import InterfaceError, OperationalError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler, set_rollback

logger = logging.getLogger(__name__)

# Seconds a client is asked to wait when the database is unavailable (restart, failover, stuck).
RETRY_AFTER_SECONDS = 30
# What a driver raises when it cannot reach or hear the database: the request is not at fault.
UNAVAILABLE_ERRORS = (OperationalError, InterfaceError)


class ApiError(exceptions.APIException):
    """An error a view raises on purpose, with a stable machine-readable code."""

    def __init__(self, *, code: str, message: str, status_code: int = status.HTTP_400_BAD_REQUEST,
                 details: Any = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail=message, code=code)
        self.status_code = status_code
        self.error_code = code
        self.message = message
        self.details = details
        self.extra_headers = headers or {}


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    body: dict[str, Any] = {"code": code, "message": message}
    if details is not None:
        body["details"] = details
    return body


def _first_message(detail: Any) -> str:
    if isinstance(detail, list) and detail:
        return _first_message(detail[0])
    if isinstance(detail, dict) and detail:
        key, value = next(iter(detail.items()))
        inner = _first_message(value)
        return inner if key == "non_field_errors" else f"{key}: {inner}"
    return str(detail)


UNAVAILABLE_MESSAGE = "The database is unavailable; nothing was changed. Retry later."


def unavailable_body(message: str = UNAVAILABLE_MESSAGE) -> dict[str, Any]:
    return error_body("unavailable", message)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    view = context.get("view")
    if isinstance(exc, UNAVAILABLE_ERRORS):
        logger.warning("api: database unavailable: %s", exc)
        set_rollback()
        return Response(unavailable_body(getattr(view, "unavailable_message", UNAVAILABLE_MESSAGE)),
                        status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
    if isinstance(exc, ApiError):
        refusal = Response(error_body(exc.error_code, exc.message, exc.details), status=exc.status_code)
        for name, value in exc.extra_headers.items():
            refusal[name] = value
        return refusal
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = exception_handler(exc, context)
    if response is None:
        server_error_message = getattr(view, "server_error_message", None)
        if server_error_message is None:
            return None  # Django's own 500 handling, with its traceback in the log
        request = context.get("request")
        logger.exception("api: unexpected error on %s", getattr(request, "path", "?"))
        return Response(error_body("server_error", server_error_message), status=status.HTTP_500_INTERNAL_SERVER_ERROR)
    if isinstance(exc, exceptions.ValidationError):
        response.data = error_body("invalid", _first_message(exc.detail), exc.detail)
    elif isinstance(exc, exceptions.Throttled) and getattr(view, "throttled_code", None):
        # A view may name its 429 for its callers (ingest: rate_limited); DRF has set Retry-After.
        response.data = error_body(view.throttled_code, _first_message(exc.detail))  # type: ignore[union-attr]
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "error"
        response.data = error_body(code, _first_message(exc.detail))
    return response
