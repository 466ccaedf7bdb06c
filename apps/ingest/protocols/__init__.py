"""One pure module per wire format: a decoded body (and the product's event-name rules) → envelopes.

Protocols know nothing of the database, of HTTP or of each other; the pipeline takes it from here.
"""

from collections.abc import Callable
from typing import Any

from apps.ingest.envelope import EventRules, Parsed

from . import flowfuse, hasura, native, posthog, segment, wasp

Parser = Callable[..., Parsed]

PARSERS: dict[str, Parser] = {
    "native": native.parse,
    "segment": segment.parse,
    "posthog": posthog.parse,
    "hasura": hasura.parse,
    "flowfuse": flowfuse.parse,
    "wasp": wasp.parse,
}


def parse(protocol: str, body: Any, *, rules: EventRules, **options: Any) -> Parsed:
    return PARSERS[protocol](body, rules=rules, **options)
