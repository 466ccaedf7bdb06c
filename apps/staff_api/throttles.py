"""Throttling of wrong staff API tokens, on DRF's rate throttle.

DRF checks throttles only after authentication has succeeded, so a wrong token is answered 401 before
any throttle runs. FailedTokenThrottle counts those failures per client address instead (a keyed hash,
never the address itself) and, once the rate is spent, the address gets 429 for every token attempt,
right or wrong, until the window has passed: guessing gains nothing from the occasional hit.
"""

import logging

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from apps.accounts.client import address_key

log = logging.getLogger(__name__)


class FailedTokenThrottle(SimpleRateThrottle):
    scope = "staff_token_failure"
    # Set by SimpleRateThrottle.__init__ from the rate, which get_rate always gives; the stubs omit them.
    num_requests: int
    duration: int

    def get_rate(self) -> str:
        return settings.TELEMETRY_TOKEN_FAILURE_RATE

    def get_cache_key(self, request: Request, view: object) -> str:
        return self.cache_format % {"scope": self.scope, "ident": address_key(request)}

    def is_exhausted(self, request: Request) -> bool:
        """True when this client has used up its wrong tokens; records nothing."""
        self.key = self.get_cache_key(request, None)
        self.now = self.timer()
        try:
            self.history = self.cache.get(self.key, [])
        except Exception:  # the cache (Redis) is down: fail open, as the ingest throttles do
            log.warning("Token failure throttle skipped: the cache is unavailable", exc_info=True)
            return False
        while self.history and self.history[-1] <= self.now - self.duration:
            self.history.pop()
        return len(self.history) >= self.num_requests

    def record_failure(self, request: Request) -> None:
        try:
            # It runs from authentication, before any view; get_cache_key above needs none.
            self.allow_request(request, None)  # type: ignore[arg-type]
        except Exception:
            log.warning("Token failure not counted: the cache is unavailable", exc_info=True)
