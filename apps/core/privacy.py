"""Keyed hashing and recognising personal data, so nothing raw is ever stored."""

import hashlib
import hmac
import ipaddress

from django.conf import settings


def keyed_hash(value: str) -> str:
    """HMAC-SHA256 with the server's secret: stable for joins, useless for reversing a small space like IPs."""
    key = settings.TELEMETRY_HASH_KEY.encode()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


def is_ip_address(value: object) -> bool:
    if not isinstance(value, str) or not value or len(value) > 45:
        return False
    try:
        ipaddress.ip_address(value.strip())
    except ValueError:
        return False
    return True
