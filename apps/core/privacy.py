"""Keyed hashing and recognising personal data, so nothing raw is ever stored."""

import hashlib
import hmac
import ipaddress
import re
from typing import Any

from django.conf import settings


def keyed_hash(value: str) -> str:
    """HMAC-SHA256 with the server's secret: stable for joins, useless for reversing a small space like IPs."""
    key = settings.TELEMETRY_HASH_KEY.encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def is_ip_address(value: object) -> bool:
    if not isinstance(value, str) or not value or len(value) > 45:
        return False
    value = value.strip()
    # Performance (issue 7): every scrubbed id goes through here; an address starts with a digit
    # (IPv4) or contains a colon (IPv6), and ip_address() raising on the rest costs far more.
    if not (value[:1].isdigit() or ":" in value):
        return False
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


# --- Scrubbing payload properties (used by ingest for every stored event) ---------------------------
# Keys compared case-insensitively. Whatever their value, these hold an address.
IP_KEYS = frozenset({"ip", "$ip", "ipaddress", "ip_address", "clientip", "client_ip", "remoteaddr", "remote_addr",
                     "x-forwarded-for", "x_forwarded_for"})
# Identifiers some senders fill with the sender's IP (Appsmith's installer sends `userId: "<ip>"`):
# dropped only when the value is an address, so a version like "0.1.9.1" elsewhere is never mistaken.
ID_KEYS = frozenset({"userid", "user_id", "$user_id", "anonymousid", "anonymous_id", "$anonymous_id", "distinct_id",
                     "$distinct_id", "id", "$identified_id", "$device_id"})
EMAIL_KEYS = frozenset({"email", "$email", "e-mail", "email_address", "emailaddress", "user_email", "useremail"})
# Always a person's name. A plain `name` is one only next to an e-mail (a sign-up form), elsewhere
# it names an action, a page or a data source.
PERSON_NAME_KEYS = frozenset({"first_name", "firstname", "last_name", "lastname", "full_name", "fullname"})
NAME_KEYS = frozenset({"name", "$name"})
# Explicit consent in the same payload keeps e-mail and name (Appsmith's setup form).
CONSENT_KEYS = frozenset({"subscribe-marketing", "subscribe_marketing", "subscribemarketing", "marketing_consent"})
# Wasp documents that `deploy_cmd_args` carries only these keywords; anything else is dropped here too.
DEPLOY_ARG_KEYWORDS = frozenset({"fly", "setup", "create-db", "deploy", "cmd"})
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def is_email(value: str) -> bool:
    return "@" in value and _EMAIL.fullmatch(value.strip()) is not None


def has_consent(*payloads: dict[str, Any] | None) -> bool:
    for payload in payloads:
        if payload:
            for key in payload:
                if key.lower() in CONSENT_KEYS:
                    value = payload[key]
                    if value is True or str(value).lower() == "true":
                        return True
    return False


def allowed_deploy_args(value: Any) -> Any:
    if isinstance(value, list):
        return [arg for arg in value if isinstance(arg, str) and arg in DEPLOY_ARG_KEYWORDS]
    if isinstance(value, str):
        return ";".join(arg for arg in value.split(";") if arg.strip() in DEPLOY_ARG_KEYWORDS)
    return None


# Every key of every stored event is looked up here; keys outside this set take the short path.
_SPECIAL_KEYS = IP_KEYS | ID_KEYS | EMAIL_KEYS | PERSON_NAME_KEYS | NAME_KEYS | {"deploy_cmd_args"}


def scrub(value: dict[str, Any], *, consent: bool) -> dict[str, Any]:
    """A copy of `value` without addresses, and without e-mails and names unless consented to."""
    personal: bool | None = None  # an e-mail key among the siblings: then `name` is a person's (asked when needed)
    out: dict[str, Any] = {}
    for key, item in value.items():
        lower = key.lower()
        if lower not in _SPECIAL_KEYS:
            # Performance (issue 7): the common case, the same checks as below for an ordinary key.
            if isinstance(item, str):
                if consent or "@" not in item or not is_email(item):
                    out[key] = item
            elif isinstance(item, dict):
                out[key] = scrub(item, consent=consent)
            elif isinstance(item, list):
                out[key] = _scrub_list(item, consent=consent)
            else:
                out[key] = item
            continue
        if lower in IP_KEYS:
            continue
        if isinstance(item, str):
            if lower in ID_KEYS and is_ip_address(item):
                continue
            if not consent:
                if lower in NAME_KEYS and personal is None:
                    personal = any(other.lower() in EMAIL_KEYS for other in value)
                if lower in EMAIL_KEYS or lower in PERSON_NAME_KEYS or (personal and lower in NAME_KEYS) \
                        or is_email(item):
                    continue
        elif isinstance(item, dict):
            item = scrub(item, consent=consent)
        elif isinstance(item, list):
            item = _scrub_list(item, consent=consent)
        if lower == "deploy_cmd_args":
            item = allowed_deploy_args(item)
        out[key] = item
    return out


def _scrub_list(items: list[Any], *, consent: bool) -> list[Any]:
    out: list[Any] = []
    for item in items:
        if isinstance(item, dict):
            out.append(scrub(item, consent=consent))
        elif isinstance(item, list):
            out.append(_scrub_list(item, consent=consent))
        elif consent or not (isinstance(item, str) and is_email(item)):
            out.append(item)
    return out
