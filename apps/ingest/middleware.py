"""Performance: ingest requests skip the middlewares made for browsers.

Instances and SDKs authenticate with the product's key; they carry no session, CSRF token or
user, and their answers need no clickjacking or HSTS headers. Sessions, CSRF, auth, messages,
common and security middleware together cost a heartbeat a noticeable share of its CPU. This
middleware comes first in `settings.MIDDLEWARE`: for a path of the ingest URLconf it calls the
view itself (and renders its DRF answer, as Django's handler would); every other path goes down
the normal chain. (The ingest views never build absolute URLs, so skipping the Host check of
CommonMiddleware exposes nothing.)

It also replaces Django's per-request connection health check (`CONN_HEALTH_CHECKS`: a `SELECT 1`
round trip before the first query, ≈ 0.4 ms) with `drop_if_closed_by_server`, one poll(2) of the
idle connection's socket (≈ 0.02 ms): a connection the server ended (a database restart) is
replaced before the request uses it, instead of failing the request with a 503.
"""

from collections.abc import Callable

from django.db import DEFAULT_DB_ALIAS, connections
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, get_resolver

from apps.core.db_health import drop_if_closed_by_server


class IngestFastPathMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.resolver = get_resolver("apps.ingest.urls")

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            match = self.resolver.resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        request.resolver_match = match
        db = connections[DEFAULT_DB_ALIAS]  # one look-up: each `connection.x` goes through asgiref's Local
        drop_if_closed_by_server(db)
        db.health_check_done = True  # type: ignore[attr-defined]  # Django's, absent from the stubs
        response = match.func(request, *match.args, **match.kwargs)
        # What Django's handler does after calling a view: DRF answers are rendered on the way out.
        render = getattr(response, "render", None)
        return render() if callable(render) else response
