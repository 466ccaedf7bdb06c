"""The offline country database: codes for public addresses, nothing for the rest, never a download."""

import socket

import pytest
from django.test import override_settings

from apps.core import geo
from apps.core.privacy import keyed_hash


@pytest.mark.parametrize(("address", "expected"), [
    ("194.25.2.129", "DE"), ("2003:e4::1", "DE"), ("8.8.8.8", "US"), ("81.2.69.160", "GB"),
    (" 8.8.8.8 ", "US"), ("::ffff:8.8.8.8", "US"),
    # private, loopback, link-local, documentation, carrier NAT, unspecified: no country
    ("10.0.0.1", ""), ("192.168.1.1", ""), ("127.0.0.1", ""), ("::1", ""), ("fe80::1", ""),
    ("198.51.100.7", ""), ("100.64.0.1", ""), ("0.0.0.0", ""),
    # not addresses
    ("", ""), ("not-an-ip", ""), ("999.1.1.1", ""), ("1.2.3", ""),
])
def test_country_of(address: str, expected: str) -> None:
    assert geo.country_of(address) == expected


def test_the_database_ships_in_the_package_and_loads_without_the_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_network(*args: object, **kwargs: object) -> None:
        raise AssertionError("the country database must not touch the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    with override_settings(TELEMETRY_COUNTRY_DATABASE="geoip2fast-ipv6.dat.gz"):
        monkeypatch.setattr(geo, "_loaded", {})
        assert geo.country_of("194.25.2.129") == "DE"
        info = geo.loaded_database_info()
    assert "GeoLite2-Country" in str(info["source_info"])
    assert info["database_content"] == "Country with IPv4 and IPv6"


def test_a_missing_database_turns_the_lookup_off(monkeypatch: pytest.MonkeyPatch,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(geo, "_loaded", {})
    with override_settings(TELEMETRY_COUNTRY_DATABASE="/nonexistent/countries.dat.gz"):
        assert geo.country_of("194.25.2.129") == ""
    assert "country lookup is off" in caplog.text


def test_answers_are_remembered_by_the_keyed_hash_never_by_the_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(geo, "_remembered", {})
    address = "194.25.2.129"
    hashed = keyed_hash(address)
    assert geo.country_of(address, address_hash=hashed) == "DE"
    assert geo._remembered == {("geoip2fast-ipv6.dat.gz", hashed): "DE"}
    looked_up: list[tuple[str, ...]] = []

    def look_up(*args: str) -> str:
        looked_up.append(args)
        return "XX"

    monkeypatch.setattr(geo, "_look_up", look_up)
    assert geo.country_of(address, address_hash=hashed) == "DE" and looked_up == []
    assert geo.country_of(address) == "XX"  # without a hash nothing is remembered
    monkeypatch.setattr(geo, "REMEMBERED_MAX", 1)
    assert geo.country_of("8.8.8.8", address_hash=keyed_hash("8.8.8.8")) == "XX"
    assert len(geo._remembered) == 1  # full: emptied, then the newest kept
