"""How staff authenticate to the API: DRF's token and session authentication, hardened."""

from typing import Any

from rest_framework import exceptions
from rest_framework.authentication import SessionAuthentication, TokenAuthentication, get_authorization_header
from rest_framework.request import Request

from apps.accounts.two_factor import has_confirmed_device

from .throttles import FailedTokenThrottle


class ThrottledTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`, with wrong tokens throttled per client address (throttles.py)."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        words = get_authorization_header(request).split()
        if not words or words[0].lower() != self.keyword.lower().encode():
            return None
        throttle = FailedTokenThrottle()
        if throttle.is_exhausted(request):
            raise exceptions.Throttled(wait=throttle.wait(),
                                       detail="Too many wrong tokens from this address; try again later.")
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            throttle.record_failure(request)
            raise


class VerifiedSessionAuthentication(SessionAuthentication):
    """The admin's session, refused when its user set up a second factor the session was not verified with:
    the API is no way around the admin login."""

    def authenticate(self, request: Request) -> tuple[Any, Any] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        user = result[0]
        verified = getattr(user, "is_verified", None)
        if (verified is None or not verified()) and has_confirmed_device(user):
            return None
        return result
