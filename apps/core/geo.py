"""The country of an IP address, from an offline database shipped inside a Python package.

geoip2fast (MIT) ships MaxMind's GeoLite2 Country data (CC BY-SA 4.0) as compact data files in
its wheel: nothing is downloaded at run time, and a lookup is a bisect over in-memory lists
(tens of µs, see docs/fleet-data.md). The file loads once per process, on the first lookup
(≈ 0.3 s, ≈ 50 MB), under a lock so concurrent first requests load it once.

An instance sends from the same address ping after ping, so answers are remembered per process,
keyed by the caller's keyed hash of the address (never by the address itself): a repeat costs a
dict look-up.

`TELEMETRY_COUNTRY_DATABASE` names another data file (an absolute path, or a file name inside the
package), for a fresher database built with geoip2fast's own `geoip2dat` tool; empty turns the
lookup off. Only the country code comes out of here: the address is neither kept nor logged.
"""

import ipaddress
import logging
import threading
from typing import Protocol

from django.conf import settings
from geoip2fast import GeoIP2Fast

logger = logging.getLogger(__name__)


class _Lookup(Protocol):
    def lookup(self, ipaddr: str) -> object: ...


_lock = threading.Lock()
_loaded: dict[str, _Lookup | None] = {}
# (data file, keyed address hash) → country. Emptied when full: a larger fleet pays some lookups again.
_remembered: dict[tuple[str, str], str] = {}
REMEMBERED_MAX = 50_000


def _database(name: str) -> _Lookup | None:
    if name in _loaded:
        return _loaded[name]
    with _lock:
        if name not in _loaded:
            _loaded[name] = _load(name) if name else None
    return _loaded[name]


def _load(name: str) -> _Lookup | None:
    try:
        return GeoIP2Fast(verbose=False, geoip2fast_data_file=name)
    except Exception as exc:  # the library raises its own GeoIPError, and OSError for unreadable files
        # Ingest goes on without countries rather than failing every heartbeat.
        logger.error("country lookup is off: cannot load %s: %s", name, exc)
        return None


def country_of(address: str, *, address_hash: str = "") -> str:
    """ISO 3166-1 alpha-2 code of a public address, or "" (private, reserved, unknown or not an address).

    `address_hash`, the keyed hash of `address` (apps/core/privacy.keyed_hash), lets the answer be
    remembered for the next ping from the same address.
    """
    name: str = settings.TELEMETRY_COUNTRY_DATABASE
    if not address or not name:
        return ""
    key = (name, address_hash)
    if address_hash:
        known = _remembered.get(key)
        if known is not None:
            return known
    code = _look_up(name, address)
    if address_hash:
        if len(_remembered) >= REMEMBERED_MAX:
            _remembered.clear()
        _remembered[key] = code
    return code


def _look_up(name: str, address: str) -> str:
    database = _database(name)
    if database is None:
        return ""
    try:
        parsed = ipaddress.ip_address(address.strip())
    except ValueError:
        return ""
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped  # a dual-stack socket reports IPv4 clients as ::ffff:a.b.c.d
    code = getattr(database.lookup(str(parsed)), "country_code", "")
    # The library answers "--" (private), "-1"… (errors) or "" besides real codes.
    return code if isinstance(code, str) and len(code) == 2 and code.isalpha() and code.isupper() else ""


def loaded_database_info() -> dict[str, object]:
    """What the loaded data file says of itself (source and date), for docs and checks."""
    database = _database(settings.TELEMETRY_COUNTRY_DATABASE)
    info = getattr(database, "get_database_info", None)
    return info() if info else {}
