"""Keyed hashing and recognising personal data, so nothing raw is ever stored."""

import hashlib
import hmac
import ipaddress
import re
from functools import lru_cache
from typing import Any

from django.conf import settings


def keyed_hash(value: str) -> str:
    """HMAC-SHA256 with the server's secret: stable for joins, useless for reversing a small space like IPs."""
    hasher = _keyed_hasher(settings.TELEMETRY_HASH_KEY).copy()
    hasher.update(value.encode())
    return hasher.hexdigest()


@lru_cache(maxsize=4)
def _keyed_hasher(key: str) -> "hmac.HMAC":
    # Performance: a heartbeat hashes two or three values; copying an HMAC that has already taken
    # the key in costs less than keying a new one. Keyed by the secret, so a changed key is used at once.
    return hmac.new(key.encode(), digestmod=hashlib.sha256)


def is_ip_address(value: object) -> bool:
    if not isinstance(value, str) or not value or len(value) > 45:
        return False
    value = value.strip()
    # Performance: every scrubbed id goes through here; an address starts with a digit
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

# --- Finding addresses and e-mails wherever they are ------------------------------------------------
# Candidates are cheap to over-match: every IPv6 candidate is confirmed by `ipaddress`, every IPv4 one
# by its octets, so a clock time (12:30:45), a MAC address or a version keeps its text. The
# lookbehinds stop the engine from retrying inside a word, which is what keeps a scan linear.
_EMAIL_PATTERN = r"(?<![\w.+%'-])[\w.+%'-]+(?:@|%40)(?:[\w-]+\.)+[^\W\d_]{2,}"
_EMAILS = re.compile(_EMAIL_PATTERN)
_V6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:\d{1,3}(?:\.\d{1,3}){3}|[0-9A-Fa-f]{1,4})?(?![\w:])")
_V4 = re.compile(r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?!\d|\.\d)")


def _may_hold_email(text: str) -> bool:
    return "@" in text or "%40" in text


def _may_hold_ipv6(text: str) -> bool:
    # Written out, an IPv6 address has `::` or at least six colons (seven, or six and an IPv4 tail);
    # a timestamp's two colons never send it to the scanner.
    return "::" in text or text.count(":") >= 6


def _may_hold_ipv4(text: str) -> bool:
    return text.count(".") >= 3


def may_hold_personal_data(text: str) -> bool:
    """The short path: False when `text` cannot hold an address or an e-mail address."""
    # The three checks above, written out: this runs on every key and string of every record.
    return "@" in text or "%40" in text or "::" in text or text.count(".") >= 3 or text.count(":") >= 6


def _ipv4(candidate: str) -> str | None:
    octets = [int(part) for part in candidate.split(".")]
    # 0.0.0.0/8 is never a host's address, and versions such as 0.1.9.1 live there.
    if octets[0] == 0 or any(octet > 255 for octet in octets):
        return None
    return ".".join(map(str, octets))  # one spelling for 010.0.0.1 and 10.0.0.1


def _ipv6(candidate: str) -> str | None:
    try:
        address = ipaddress.IPv6Address(candidate)
    except ValueError:
        return None
    if address.is_unspecified:
        return None
    mapped = address.ipv4_mapped
    return str(mapped) if mapped else address.compressed  # the same hash whatever the spelling


@lru_cache(maxsize=4096)
def _token(kind: str, canonical: str, key: str) -> str:
    return f"{kind}-{hmac.new(key.encode(), canonical.encode(), hashlib.sha256).hexdigest()[:32]}"


def _email_token(match: re.Match[str]) -> str:
    return _token("email", match.group().replace("%40", "@").lower(), settings.TELEMETRY_HASH_KEY)


def _ipv6_token(match: re.Match[str]) -> str:
    canonical = _ipv6(match.group())
    return _token("ip", canonical, settings.TELEMETRY_HASH_KEY) if canonical else match.group()


def _ipv4_token(match: re.Match[str]) -> str:
    canonical = _ipv4(match.group())
    return _token("ip", canonical, settings.TELEMETRY_HASH_KEY) if canonical else match.group()


def pseudonym_of_address(address: str) -> str:
    """The token an address becomes wherever it is found, whatever its spelling."""
    return redact(address.strip())


def redact(text: str, *, emails: bool = True) -> str:
    """`text` with every IP address (v4, v6, with a port, in a URL or a sentence) and, unless `emails`
    is false, every e-mail address replaced by a keyed hash: `ip-<hex>` / `email-<hex>`.

    The same address always gives the same token, so an id that is an address stays one id.
    """
    # E-mails first (a domain is never taken for an address), IPv6 before IPv4 (::ffff:192.0.2.1
    # is one address); a token holds neither dots nor colons, so later passes cannot see into it.
    if emails and _may_hold_email(text):
        text = _EMAILS.sub(_email_token, text)
    if _may_hold_ipv6(text):
        text = _V6.sub(_ipv6_token, text)
    if _may_hold_ipv4(text):
        text = _V4.sub(_ipv4_token, text)
    return text


def is_email(value: str) -> bool:
    return ("@" in value or "%40" in value) and _EMAILS.fullmatch(value.strip()) is not None


# Keys repeat from record to record: those known to hold nothing personal, with their lower case.
_PLAIN_KEYS: dict[str, str] = {}
_PLAIN_KEYS_KEPT = 4096


def _clean_key(key: str) -> tuple[str, str]:
    """(`key` redacted, its lower case); a key found plain is remembered (bounded, then forgotten)."""
    if may_hold_personal_data(key):
        key = redact(key)
        return key, key.lower()
    if len(_PLAIN_KEYS) >= _PLAIN_KEYS_KEPT:
        _PLAIN_KEYS.clear()
    lower = _PLAIN_KEYS[key] = key.lower()
    return key, lower


def scrub(value: dict[str, Any], *, consent: bool) -> dict[str, Any]:
    """A copy of `value` with no address anywhere (keys, values, lists, free text), and without
    e-mails and names unless consented to.

    A value that is an e-mail, or sits under an e-mail or name key, is removed, and so is an id
    (`userId`, `distinct_id`, ...) that is an address or an e-mail, even with consent; an e-mail or
    address inside other text, or in a key, becomes a keyed hash.
    """
    personal: bool | None = None  # an e-mail key among the siblings: then `name` is a person's (asked when needed)
    out: dict[str, Any] = {}
    for key, item in value.items():
        lower = _PLAIN_KEYS.get(key)
        if lower is None:
            key, lower = _clean_key(key)
        if lower not in _SPECIAL_KEYS:
            # Performance: the common case, the same checks as below for an ordinary key.
            if isinstance(item, str):
                if "@" in item or "%40" in item or "::" in item or item.count(".") >= 3 or item.count(":") >= 6:
                    if not consent and is_email(item):
                        continue
                    item = redact(item, emails=not consent)
            elif isinstance(item, dict):
                item = scrub(item, consent=consent)
            elif isinstance(item, list):
                item = _scrub_list(item, consent=consent)
            out[key] = item
            continue
        if lower in IP_KEYS:
            continue
        if isinstance(item, str):
            if lower in ID_KEYS:
                # A person's id that is their address or e-mail is not kept in any form (the
                # record's own ids, which name an instance or a run, become keyed hashes instead).
                if is_ip_address(item) or is_email(item):
                    continue
                item = redact(item)
            elif not consent:
                if lower in NAME_KEYS and personal is None:
                    personal = any(isinstance(other, str) and other.lower() in EMAIL_KEYS for other in value)
                if lower in EMAIL_KEYS or lower in PERSON_NAME_KEYS or (personal and lower in NAME_KEYS) \
                        or is_email(item):
                    continue
                item = redact(item)
            else:
                item = redact(item, emails=False)
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
        elif isinstance(item, str) and may_hold_personal_data(item):
            if consent or not is_email(item):
                out.append(redact(item, emails=not consent))
        else:
            out.append(item)
    return out
