"""Protocols are pure: a decoded body in, envelopes and per-record errors out."""

import pytest

from apps.ingest.envelope import EventRules, ProtocolError
from apps.ingest.protocols import parse
from apps.products.models import DEFAULT_HEARTBEAT_EVENTS, DEFAULT_INSTALL_EVENTS

RULES = EventRules(heartbeat_events=frozenset(DEFAULT_HEARTBEAT_EVENTS), install_events=DEFAULT_INSTALL_EVENTS)


def test_segment_batch_context_is_merged_into_messages() -> None:
    body = {"sentAt": "2024-01-01T00:00:10Z", "context": {"library": {"name": "x"}, "locale": "en"},
            "batch": [{"type": "track", "event": "a", "context": {"locale": "fr"}, "timestamp": "2024-01-01T00:00:00Z"},
                      {"type": "identify", "userId": "u", "traits": {"plan": "pro"}},
                      {"type": "group", "groupId": "g", "traits": {"size": 3}},
                      {"type": "alias", "previousId": "old", "userId": "new"},
                      {"type": "screen", "name": "Home"}]}
    parsed = parse("segment", body, rules=RULES)
    assert parsed.errors == [] and parsed.total == 5
    first = parsed.envelopes[0]
    assert first.properties["$context"] == {"library": {"name": "x"}, "locale": "fr"}
    assert first.sent_at is not None and first.client_time is not None
    assert (first.sent_at.isoformat(), first.client_time.isoformat()) == (
        "2024-01-01T00:00:10+00:00", "2024-01-01T00:00:00+00:00")
    assert [(e.name, e.kind) for e in parsed.envelopes] == [
        ("a", "event"), ("$identify", "event"), ("$group", "event"), ("$alias", "event"), ("$screen", "event")]
    assert parsed.envelopes[2].properties["group_id"] == "g"
    assert parsed.envelopes[3].properties["previous_id"] == "old"


def test_segment_classifies_by_the_product_rules() -> None:
    batch = [{"event": "Instance Active", "properties": {"instanceId": "i"}, "context": {"ip": "192.0.2.1"}},
             {"event": "Installation Errors", "anonymousId": "a", "properties": {"error": "disk full"}}]
    beat, failed = parse("segment", batch, rules=RULES).envelopes
    assert (beat.kind, beat.instance_id, beat.ip) == ("heartbeat", "i", "192.0.2.1")
    assert (failed.kind, failed.step, failed.install_id, failed.error) == ("install", "failed", "a", "disk full")
    assert parse("segment", batch, rules=EventRules()).envelopes[0].kind == "event"


def test_posthog_shapes_and_offset() -> None:
    single = parse("posthog", {"event": "e", "distinct_id": "d", "offset": 1500}, rules=RULES)
    assert single.envelopes[0].offset_ms == 1500
    listed = parse("posthog", [{"event": "e"}, {"event": "f", "offset": "soon"}], rules=RULES)
    assert len(listed.envelopes) == 1 and listed.errors[0].index == 1
    batch = parse("posthog", {"batch": [{"event": "e", "properties": {"$insert_id": "x"}}], "sent_at": "2024-01-01"},
                  rules=RULES)
    assert batch.envelopes[0].message_id == "x" and batch.envelopes[0].sent_at is not None


def test_hasura_tells_its_payloads_apart() -> None:
    payloads = [{"instance_uid": "i", "version": "v1", "metrics": {}},
                {"instance_uid": "i", "hasura_version": "v2", "license_jti": "l", "metrics": {"otel_enabled": False}},
                {"instance_uid": "i", "hasura_version": "v2", "metrics": {"backend_type": "mssql"}},
                {"instance_uid": "i", "hasura_version": "v2", "metrics": {"hasura_x": [{"value": 1}]}},
                {"event_type": "Main/X", "server_uuid": "s"},
                {"execution_id": "e", "command": "hasura init"}]
    parsed = parse("hasura", payloads, rules=RULES)
    assert [(e.kind, e.name, e.metrics_key) for e in parsed.envelopes] == [
        ("heartbeat", "hasura.server", "server"), ("heartbeat", "hasura.ee_server", "ee_server"),
        ("heartbeat", "hasura.data_source", "data_source.mssql"), ("heartbeat", "hasura.usage", "usage"),
        ("event", "Main/X", ""), ("event", "hasura init", "")]


def test_whole_body_errors() -> None:
    with pytest.raises(ProtocolError):
        parse("native", 42, rules=RULES)
    with pytest.raises(ProtocolError):
        parse("native", {"batch": [], "sent_at": "not a time"}, rules=RULES)


def test_segment_paths_imply_the_call_type_and_time_is_only_a_fallback() -> None:
    identify = parse("segment", {"userId": "u", "traits": {"plan": "pro"}}, rules=RULES, default_type="identify")
    assert (identify.envelopes[0].name, identify.envelopes[0].properties["plan"]) == ("$identify", "pro")
    odd = parse("segment", {"event": "e", "properties": {"time": "morning"}}, rules=RULES)
    assert odd.errors == [] and odd.envelopes[0].client_time is None


def test_free_form_properties_never_reject_an_ordinary_event() -> None:
    body = {"event": "e", "properties": {"context": {"a": 1}, "version": {"major": 1}, "os": ["x"]}}
    for protocol in ("segment", "posthog"):
        parsed = parse(protocol, body, rules=RULES)
        assert parsed.errors == [] and parsed.envelopes[0].version == ""


@pytest.mark.parametrize(("offset", "code"), [(6.6e15, "invalid_field"), (-5.3e15, "invalid_field"),
                                              (1e300, "number_out_of_range")])
def test_an_offset_beyond_datetimes_range_falls_back_to_the_receive_time(offset: float, code: str) -> None:
    """PostHog's adapter refuses such offsets by index; the pipeline still never overflows on one."""
    from datetime import UTC, datetime

    from apps.ingest.envelope import Envelope
    from apps.ingest.pipeline import correct_time

    parsed = parse("posthog", {"event": "e", "distinct_id": "d", "offset": offset}, rules=RULES)
    assert parsed.envelopes == [] and parsed.errors[0].code == code
    envelope = Envelope(kind="event", name="e", offset_ms=offset)
    now = datetime(2024, 1, 9, tzinfo=UTC)
    correct_time(envelope, now)
    assert envelope.timestamp == now
