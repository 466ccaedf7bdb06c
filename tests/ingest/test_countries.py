"""Countries without addresses: a heartbeat's country is read from its address before the address is hashed.

The addresses below are public and stable in the bundled GeoLite2 Country data (Deutsche Telekom's
DNS, Google's resolver, MaxMind's own test address); documentation ranges (the suite's SENDER) are
reserved and have no country.
"""

import logging
from datetime import timedelta

import pytest
from django.test import override_settings

from apps.events.models import Event
from apps.instances.models import Instance
from apps.products.models import Product

from .conftest import Post, basic
from .test_privacy import dump

GERMANY = "194.25.2.129"
GERMANY_V6 = "2003:e4::1"
USA = "8.8.8.8"
BRITAIN = "81.2.69.160"


def heartbeat(instance_id: str = "i-1", **fields) -> dict:
    return {"type": "heartbeat", "instance_id": instance_id, **fields}


def country(instance_id: str) -> str:
    return Instance.objects.get(instance_id=instance_id).country


@pytest.mark.django_db
def test_the_request_address_gives_the_country_and_is_kept_nowhere(
        post: Post, appsmith: Product, clock, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for instance_id, address in (("i-de", GERMANY), ("i-de6", GERMANY_V6), ("i-us", USA),
                                 ("i-mapped", f"::ffff:{BRITAIN}")):
        response = post("/api/v1/ingest", heartbeat(instance_id), key=appsmith.ingest_key, remote_addr=address)
        assert response.status_code == 200, response.content
    assert [country(i) for i in ("i-de", "i-de6", "i-us", "i-mapped")] == ["DE", "DE", "US", "GB"]
    text = dump()
    for address in (GERMANY, GERMANY_V6, USA, BRITAIN):
        assert address not in text and address not in caplog.text, address


@pytest.mark.django_db
def test_the_payloads_own_address_counts_before_the_requests(post: Post, make_product, clock) -> None:
    appsmith = make_product("appsmith", heartbeat_events=["Instance Active"])
    track = {"type": "track", "event": "Instance Active", "userId": "someone", "messageId": "m-1",
             "properties": {"instanceId": "i-context"}, "context": {"ip": USA}}
    by_property = {**track, "messageId": "m-2", "properties": {"instanceId": "i-property", "ipAddress": BRITAIN},
                   "context": {"ip": USA}}
    by_user_id = {**track, "messageId": "m-3", "userId": BRITAIN, "context": {},
                  "properties": {"instanceId": "i-user"}}
    for body in (track, by_property, by_user_id):
        response = post("/v1/track", body, key=None, HTTP_AUTHORIZATION=basic(appsmith.ingest_key),
                        remote_addr=GERMANY)
        assert response.status_code == 200, response.content
    assert (country("i-context"), country("i-property"), country("i-user")) == ("US", "GB", "GB")

    native = post("/api/v1/ingest", heartbeat("i-native", ipAddress=USA), key=appsmith.ingest_key,
                  remote_addr=GERMANY)
    assert native.status_code == 200 and country("i-native") == "US"
    assert USA not in dump() and BRITAIN not in dump()


@pytest.mark.django_db
def test_an_address_without_a_country_keeps_the_last_known_one(post: Post, appsmith: Product, clock) -> None:
    def beat(number: int, **where: str) -> None:
        clock.shift(timedelta(minutes=1))
        body = heartbeat("i-1", message_id=f"m-{number}")
        assert post("/api/v1/ingest", body, key=appsmith.ingest_key, **where).json()["accepted"] == 1

    beat(1)  # the suite's documentation address
    assert country("i-1") == ""
    beat(2, remote_addr=GERMANY)
    beat(3, remote_addr="10.1.2.3")  # now behind a proxy
    assert country("i-1") == "DE"
    beat(4, remote_addr=USA)  # moved
    assert country("i-1") == "US"


@pytest.mark.django_db
def test_only_heartbeats_carry_a_country_and_events_keep_no_address(post: Post, appsmith: Product, clock) -> None:
    body = {"batch": [heartbeat("i-1"), {"type": "event", "event": "clicked", "instance_id": "i-1",
                                         "properties": {"ip": USA}}]}
    assert post("/api/v1/ingest", body, key=appsmith.ingest_key, remote_addr=GERMANY).json()["accepted"] == 2
    assert country("i-1") == "DE"
    assert Event.objects.get(name="clicked").properties == {}


@pytest.mark.django_db
def test_country_lookup_can_be_turned_off(post: Post, appsmith: Product, clock) -> None:
    with override_settings(TELEMETRY_COUNTRY_DATABASE=""):
        assert post("/api/v1/ingest", heartbeat(), key=appsmith.ingest_key, remote_addr=GERMANY).status_code == 200
    assert country("i-1") == ""
