"""Who is knocking, as login lockout and token throttling see it: keyed hashes, never the raw values.

django-axes stores and logs the username and client address of every failed login. Both pass
through here first, so its tables and log lines hold keyed hashes: a locked username or address can
still be matched (the same input gives the same hash) but not read back.
"""

import ipaddress
from typing import Any

from django.conf import settings
from django.http import HttpRequest
from ipware.ip import get_client_ip

from apps.core.privacy import keyed_hash

# axes keeps addresses in a GenericIPAddressField; a hash is written as an address of the IPv6
# documentation prefix, which no real client ever has, so it cannot be mistaken for one.
_DOCUMENTATION_PREFIX = int(ipaddress.IPv6Address("2001:db8::"))


def client_address(request: HttpRequest) -> str:
    """The client's address: REMOTE_ADDR, or with TELEMETRY_PROXY_COUNT proxies in front, the entry of
    X-Forwarded-For that the outermost trusted proxy appended."""
    address, _routable = get_client_ip(
        request, proxy_count=settings.AXES_IPWARE_PROXY_COUNT,
        request_header_order=settings.AXES_IPWARE_META_PRECEDENCE_ORDER)
    return address or request.META.get("REMOTE_ADDR", "") or "unknown"


def address_key(request: HttpRequest) -> str:
    """The client address as axes stores it: 96 bits of its keyed hash inside 2001:db8::/32."""
    digest = int(keyed_hash("login-address:" + client_address(request))[:24], 16)
    return str(ipaddress.IPv6Address(_DOCUMENTATION_PREFIX | digest))


def username_key(request: HttpRequest | None, credentials: dict[str, Any] | None) -> str | None:
    """The attempted username as axes stores it. Usernames can be e-mail addresses, and people type
    passwords into the username field: only a keyed hash is kept."""
    # axes puts its default ("username") into settings when it loads; read it the same way it does.
    field = getattr(settings, "AXES_USERNAME_FORM_FIELD", "username")
    username = (credentials or {}).get(field)
    if username is None and request is not None:
        username = request.POST.get(field)
    if not username:
        return None
    return username_hash(str(username))


def username_hash(username: str) -> str:
    return "user:" + keyed_hash("login-username:" + username)[:40]
