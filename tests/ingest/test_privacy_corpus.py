"""The privacy corpus posted through every ingest path, then the whole database read back: none of its
addresses or e-mails is stored, in any spelling, yet the records are (as keyed hashes)."""

from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection

from apps.core.privacy import pseudonym_of_address
from apps.events.models import Event
from apps.ingest.envelope import HEARTBEAT, Envelope
from apps.ingest.pipeline import redact_fields
from apps.instances.models import Instance
from apps.products.models import Product

from .conftest import Post
from .privacy_corpus import payloads


def database_text() -> str:
    """Every row of every table (not only the models'), as text, lower-cased."""
    rows: list[str] = []
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                rows.append(repr([bytes(value).decode("utf-8", "replace") if isinstance(value, bytes | memoryview)
                                  else value for value in row]))
    return "\n".join(rows).lower()


@pytest.fixture
def sources(make_product: Callable[..., Product]) -> dict[str, Product]:
    return {slug: make_product(slug, heartbeat_interval=3600, **extra) for slug, extra in (
        ("native", {}), ("hasura", {}), ("flowfuse", {}),
        ("wasp", {"heartbeat_events": ["cli"]}), ("segment", {}), ("posthog", {}))}


def post_corpus(post: Post, sources: dict[str, Product]) -> None:
    sends: list[tuple[str, str, Any, int]] = [
        ("native", "/api/v1/ingest", payloads.native(), 4),
        ("hasura", "/api/v1/ingest/hasura", payloads.hasura(), 1),
        ("flowfuse", "/api/v1/ingest/flowfuse", payloads.flowfuse(), 1),
        ("wasp", "/api/v1/ingest/wasp", payloads.wasp(), 2),
        ("segment", "/v1/batch", payloads.segment_batch(), 2),
        ("segment", "/v1/track", payloads.segment_track(), 1),
        ("posthog", "/batch/", payloads.posthog_batch(), 2),
        ("posthog", "/capture/", payloads.posthog_capture(), 1),
    ]
    for slug, path, body, records in sends:
        response = post(path, body, key=sources[slug].ingest_key, remote_addr=payloads.REMOTE)
        assert response.status_code == 200, (path, response.content)
        answer = response.json()
        if "accepted" in answer:  # Segment and PostHog answer in their own shape, without counts
            assert (answer["errors"], answer["accepted"]) == ([], records), (path, answer)
    for slug in ("segment", "posthog"):
        assert Event.objects.filter(product=sources[slug]).count() == 3, slug


@pytest.mark.django_db(transaction=True)
def test_no_corpus_address_or_email_is_stored_in_any_spelling(post: Post, sources: dict[str, Product]) -> None:
    post_corpus(post, sources)
    text = database_text()
    kept = sorted({spelling for spelling in payloads.spellings() if spelling.lower() in text})
    assert kept == []
    # Stored after all, as keyed hashes: the corpus reached the tables it was checked against.
    assert pseudonym_of_address("198.18.0.11") in text and pseudonym_of_address("2001:db8::1") in text


@pytest.mark.django_db
def test_an_instance_whose_id_is_an_address_stays_one_instance(post: Post, sources: dict[str, Product]) -> None:
    post_corpus(post, sources)
    native = Instance.objects.filter(product=sources["native"])
    pseudonym = pseudonym_of_address("2001:db8::1")
    # Two spellings of one address in two heartbeats: one instance, its id the address's keyed hash.
    assert native.filter(instance_id=pseudonym).count() == 1
    post("/api/v1/ingest", {"instance_id": "2001:0db8::0001", "message_id": "hb-3"},
         key=sources["native"].ingest_key)
    assert native.filter(instance_id=pseudonym).count() == 1


def test_a_field_that_grows_past_its_column_when_redacted_still_fits() -> None:
    long_id = "x" * 180 + " 10.1.2.3 1.2.3.4"  # 197 characters; each address grows to a 35-character token
    envelope = Envelope(kind=HEARTBEAT, name="n" * 190 + " 10.1.2.3", instance_id=long_id)
    redact_fields(envelope)
    assert envelope.instance_id == redact_fields_again(long_id) and len(envelope.instance_id) <= 200
    assert envelope.instance_id.startswith("h-") and "10.1.2.3" not in envelope.name
    assert len(envelope.name) <= 200


def redact_fields_again(instance_id: str) -> str:
    """The same id gives the same stored id: the instance stays one."""
    envelope = Envelope(kind=HEARTBEAT, name="n", instance_id=instance_id)
    redact_fields(envelope)
    return envelope.instance_id
