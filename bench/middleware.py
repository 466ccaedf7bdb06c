"""Limit 1 served as the smallest Django JSON view: CommonMiddleware only, none of the project's own.

The benchmark server runs the production settings, whose middleware stack (sessions, CSRF, auth,
security headers, lockout, second factor, CSP) a bare Django view would not pay for. Measuring
ingest against a view that pays for it would flatter ingest, so this middleware comes first in
`bench.settings` and, for the benchmark's path only, resolves it and runs it behind Django's
CommonMiddleware alone, the way ingest's own fast path runs the ingest views.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponseBase
from django.middleware.common import CommonMiddleware
from django.urls import Resolver404, get_resolver


class SmallestViewMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.resolver = get_resolver("bench.limit_urls")
        self.common = CommonMiddleware(self._view)

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        try:
            match = self.resolver.resolve(request.path_info)
        except Resolver404:
            return self.get_response(request)
        request.resolver_match = match
        # CommonMiddleware around a synchronous view answers synchronously.
        response = self.common(request)
        assert isinstance(response, HttpResponseBase)
        return response

    @staticmethod
    def _view(request: HttpRequest) -> HttpResponseBase:
        match = request.resolver_match
        assert match is not None, "set by __call__ before the view runs"
        return match.func(request, *match.args, **match.kwargs)
