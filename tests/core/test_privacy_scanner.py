"""The scanner that finds addresses and e-mails in any text: what it replaces, and what it leaves alone."""

import pytest

from apps.core.privacy import may_hold_personal_data, pseudonym_of_address, redact, scrub

V4 = pseudonym_of_address("198.18.0.11")
V6 = pseudonym_of_address("2001:db8::1")


@pytest.mark.parametrize(("text", "expected"), [
    ("198.18.0.11", V4),
    ("198.018.000.011", V4),  # leading zeros: one address, one hash
    ("connect ECONNREFUSED 198.18.0.11:5432", f"connect ECONNREFUSED {V4}:5432"),
    ("http://198.18.0.11:1880/flows?x=1", f"http://{V4}:1880/flows?x=1"),
    ("peers=198.18.0.11,2001:db8::1", f"peers={V4},{V6}"),
    ("2001:db8::1", V6),
    ("2001:DB8:0:0:0:0:0:1", V6),
    ("2001:0db8:0000:0000:0000:0000:0000:0001", V6),
    ("[2001:db8::1]:443", f"[{V6}]:443"),
    ("https://[2001:db8::1]:8443/console", f"https://[{V6}]:8443/console"),
    ("::ffff:198.18.0.11", V4),  # an IPv4-mapped address is the IPv4 address
    ("fe80::1%eth0", pseudonym_of_address("fe80::1") + "%eth0"),
])
def test_addresses_in_every_spelling_become_one_keyed_hash(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize("text", [
    "12:30:45", "2024-01-10T12:30:45.123Z", "aa:bb:cc:dd:ee:ff", "std::vector<int>", "v1.9.56", "0.1.9.1",
    "1.2.3.4.5", "react@18.2.0", "@handle", "5db51f99-c6fb-4340-9c19-78adce58cc1b", "::", "999.1.1.1",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_14_6) Chrome/86.0.4240.111", " at main.js:1:3",
])
def test_text_that_only_looks_like_an_address_is_left_alone(text: str) -> None:
    assert redact(text) == text


def test_emails_anywhere_in_text_and_in_url_encoding() -> None:
    token = redact("jane.doe@example.com")
    assert token.startswith("email-") and token == redact("Jane.Doe@Example.COM") == redact("jane.doe%40example.com")
    assert redact("https://x.example/?u=jane.doe%40example.com&v=1") == f"https://x.example/?u={token}&v=1"
    assert redact("mail ops+alerts@example.co.uk now") == f"mail {redact('ops+alerts@example.co.uk')} now"
    assert redact("jane.doe@example.com", emails=False) == "jane.doe@example.com"
    assert redact("jane.doe@example.com 198.18.0.11", emails=False) == f"jane.doe@example.com {V4}"


def test_the_short_path_sees_everything_the_scanner_could_find() -> None:
    assert not may_hold_personal_data("heartbeat") and not may_hold_personal_data("v1.2.3")
    for text in ("a@b.co", "x%40y.org", "::1", "fe80::1", "1.2.3.4"):
        assert may_hold_personal_data(text)


def test_scrub_looks_in_keys_lists_nested_values_and_free_text() -> None:
    payload = {"clientIps": ["198.18.0.11", "2001:db8::1", 3],
               "198.18.0.11": {"url": "http://[2001:db8::1]:80/", "owner": "x@y.org"},
               "error": "ECONNREFUSED 198.18.0.11:5432 for ops@example.org", "distinct_id": "2001:db8::1",
               "anonymousId": "a-1 from 198.18.0.11", "$set": {"email": "a@b.co"}}
    assert scrub(payload, consent=False) == {
        "clientIps": [V4, V6, 3],
        V4: {"url": f"http://[{V6}]:80/"},
        "error": f"ECONNREFUSED {V4}:5432 for {redact('ops@example.org')}",
        "anonymousId": f"a-1 from {V4}", "$set": {}}


def test_consent_keeps_emails_never_addresses() -> None:
    payload = {"email": "a@b.co", "note": "from a@b.co at 198.18.0.11", "list": ["a@b.co", "2001:db8::1"],
               "userId": "a@b.co"}
    assert scrub(payload, consent=True) == {"email": "a@b.co", "note": f"from a@b.co at {V4}",
                                            "list": ["a@b.co", V6]}
