"""events_insert: each message id stored once per product, on the fast path and through Django's cursor."""

from contextlib import AbstractContextManager, nullcontext
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.events.models import Event
from apps.events.services import UNNEST_MIN_ROWS, EventRow, events_insert
from apps.instances.models import Instance
from apps.products.models import Product

NOW = datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC)


def row(message_id: str, instance_pk: int | None = None, **properties: object) -> EventRow:
    return EventRow(instance_pk=instance_pk, kind="event", name="API_CALL", message_id=message_id,
                    timestamp=datetime(2026, 5, 4, 3, 0, tzinfo=UTC), properties=dict(properties))


@pytest.mark.django_db
@pytest.mark.parametrize("watched", [False, True], ids=["fast-path", "django-cursor"])
def test_stores_new_message_ids_once_and_reports_them(product: Product, watched: bool) -> None:
    instance = Instance.objects.create(product=product, instance_id="i-1", first_seen=NOW, last_seen=NOW)
    watch: AbstractContextManager = CaptureQueriesContext(connection) if watched else nullcontext()
    with watch:
        first = events_insert(product_id=product.pk, received_at=NOW,
                              rows=[row("m-2", instance.pk, route="/a", n=2), row("m-1", None, nested={"x": [1]})])
        again = events_insert(product_id=product.pk, received_at=NOW, rows=[row("m-1"), row("m-3", instance.pk)])
    assert first == {"m-1", "m-2"}
    assert again == {"m-3"}
    stored = {e.message_id: e for e in Event.objects.filter(product=product)}
    assert sorted(stored) == ["m-1", "m-2", "m-3"]
    assert stored["m-2"].instance_id == instance.pk and stored["m-1"].instance_id is None
    assert stored["m-2"].properties == {"route": "/a", "n": 2}
    assert stored["m-1"].properties == {"nested": {"x": [1]}}
    assert stored["m-3"].received_at == NOW and stored["m-3"].timestamp == datetime(2026, 5, 4, 3, 0, tzinfo=UTC)
    assert stored["m-3"].kind == "event" and stored["m-3"].name == "API_CALL"


@pytest.mark.django_db
def test_same_message_id_in_another_product_is_stored(product: Product, make_product) -> None:
    other = make_product("hasura")
    assert events_insert(product_id=product.pk, received_at=NOW, rows=[row("m-1")]) == {"m-1"}
    assert events_insert(product_id=other.pk, received_at=NOW, rows=[row("m-1")]) == {"m-1"}
    assert Event.objects.filter(message_id="m-1").count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize("watched", [False, True], ids=["fast-path", "django-cursor"])
def test_a_batch_stores_every_row_once(product: Product, watched: bool) -> None:
    """From UNNEST_MIN_ROWS rows on, PostgreSQL's fast path inserts arrays; the result must be the same."""
    instance = Instance.objects.create(product=product, instance_id="i-1", first_seen=NOW, last_seen=NOW)
    rows = [row(f"b-{n:03}", instance.pk if n % 2 else None, n=n, tags=["x", n]) for n in range(UNNEST_MIN_ROWS + 15)]
    watch: AbstractContextManager = CaptureQueriesContext(connection) if watched else nullcontext()
    with watch:
        first = events_insert(product_id=product.pk, received_at=NOW, rows=rows[:20])
        second = events_insert(product_id=product.pk, received_at=NOW, rows=rows[10:])
    assert first == {r.message_id for r in rows[:20]}
    assert second == {r.message_id for r in rows[20:]}
    stored = {e.message_id: e for e in Event.objects.filter(product=product)}
    assert len(stored) == len(rows)
    for r in rows:
        event = stored[r.message_id]
        assert (event.instance_id, event.properties, event.timestamp, event.received_at) == (
            r.instance_pk, r.properties, r.timestamp, NOW)
