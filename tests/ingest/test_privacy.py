"""After ingesting every seed, no raw IP address and no unconsented e-mail is anywhere in the database."""

import pytest
from django.apps import apps
from django.core import serializers

from apps.events.models import Event
from apps.instances.models import Installation
from apps.products.models import Product

from .conftest import SENDER, Post, seed

SEED_ADDRESSES = ("117.211.16.3", "49.207.192.209", "111.65.255.130", "203.192.213.46")
ROUTES = {
    "appsmith": ("/v1/track", ["appsmith_keepalive", "appsmith_setup", "appsmith_page_load", "appsmith_backend_call",
                               "appsmith_install_started", "appsmith_instance_active"]),
    "hasura": ("/api/v1/ingest/hasura", ["hasura_server", "hasura_ee_server", "hasura_data_source", "hasura_usage",
                                         "hasura_console_error", "hasura_cli"]),
    "flowfuse": ("/api/v1/ingest/flowfuse", ["flowfuse_core"]),
    "wasp": ("/api/v1/ingest/wasp", ["wasp_cli", "wasp_install"]),
}


def dump() -> str:
    """Every row of every model, serialised: what a database dump would show."""
    return "\n".join(serializers.serialize("json", model._default_manager.all()) for model in apps.get_models())


@pytest.mark.django_db
def test_no_raw_address_or_unconsented_email_survives_the_seeds(
        post: Post, appsmith: Product, hasura: Product, flowfuse: Product, wasp: Product) -> None:
    products = {"appsmith": appsmith, "hasura": hasura, "flowfuse": flowfuse, "wasp": wasp}
    for slug, (path, names) in ROUTES.items():
        for name in names:
            assert post(path, seed(name), key=products[slug].ingest_key).status_code == 200, name
    # The same setup ping from someone who typed an e-mail but did not consent, and an installer
    # asking for support with an e-mail (also no consent), and a user id that is an e-mail.
    unconsented = seed("appsmith_setup")
    unconsented["properties"].update({"$insert_id": "setup-2", "instanceId": "i-2", "email": "jane@example.com",
                                      "name": "Jane Doe", "ipAddress": "192.0.2.55"})
    support = {**seed("appsmith_install_started"), "event": "Installation Support", "messageId": "support-1",
               "properties": {"os": "ubuntu", "email": "ops@example.org", "contact": "ops2@example.org"}}
    email_user = {**seed("appsmith_backend_call"), "messageId": "m-3", "userId": "someone@example.net"}
    for body in (unconsented, support, email_user):
        assert post("/v1/track", body, key=appsmith.ingest_key).status_code == 200

    text = dump()
    assert Event.objects.count() == 18 and Installation.objects.count() == 2
    for address in (*SEED_ADDRESSES, "192.0.2.55", SENDER):
        assert address not in text, address
    for secret in ("jane@example.com", "Jane Doe", "ops@example.org", "ops2@example.org", "someone@example.net"):
        assert secret not in text, secret


@pytest.mark.django_db
def test_consent_in_the_same_payload_keeps_email_and_name(post: Post, appsmith: Product) -> None:
    body = seed("appsmith_setup")
    body["properties"].update({"email": "jane@example.com", "name": "Jane Doe", "subscribe-marketing": True})
    post("/v1/track", body, key=appsmith.ingest_key)

    properties = Event.objects.get(name="Installation Setup Complete").properties
    assert (properties["email"], properties["name"]) == ("jane@example.com", "Jane Doe")
    assert "ipAddress" not in properties  # consent is about e-mail and name, never the address
    assert "jane@example.com" in dump()
