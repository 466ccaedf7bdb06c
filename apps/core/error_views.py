"""Django's 404/500 pages, in the API's JSON error shape for paths under /api/.

DRF's exception handler covers errors raised inside API views; these cover the rest: a URL that
matches no route, and an exception no view caught. An unavailable database is not a crash: it
answers 503 with Retry-After on every page (the admin's too), so clients and proxies retry.
"""

import sys

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views import defaults

from apps.core.exceptions import RETRY_AFTER_SECONDS, UNAVAILABLE_ERRORS, error_body, unavailable_body


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(error_body("not_found", f"No endpoint at {request.path}."), status=404)
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this handler inside its `except` block: the exception is the one being handled.
    if isinstance(sys.exc_info()[1], UNAVAILABLE_ERRORS):
        return database_unavailable(request)
    if _is_api(request):
        return JsonResponse(error_body("server_error", "Internal server error."), status=500)
    return defaults.server_error(request)


def database_unavailable(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        response: HttpResponse = JsonResponse(unavailable_body(), status=503)
    else:
        response = HttpResponse("<!doctype html><title>Service unavailable</title><h1>Service unavailable</h1>"
                                "<p>The database cannot be reached. This page will work again once it is back; "
                                "try again in a moment.</p>", status=503, content_type="text/html; charset=utf-8")
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
