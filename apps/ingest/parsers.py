"""DRF plumbing of the ingest views: the body parser, the JSON renderer and a negotiation that does no work.

Senders label their bodies freely (`curl -d` says form, `sendBeacon` text/plain, PostHog's browser
SDK sends a form whose `data` field holds the JSON), so one parser takes every Content-Type and
decides by the bytes (`decoding.decode_json`). The size limit counts decompressed bytes, so it is
checked while reading and inflating, before anything is parsed.
"""

from collections.abc import Iterable, Mapping
from typing import Any

import orjson
from django.conf import settings
from django.http import HttpRequest
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

from apps.ingest.decoding import decode_json, read_body


class IngestBodyParser(BaseParser):
    """JSON (orjson) under any Content-Type, gzip-aware, limited in decompressed size; or PostHog's `data=` form."""

    media_type = "*/*"

    def parse(self, stream: Any, media_type: str | None = None,
              parser_context: Mapping[str, Any] | None = None) -> Any:
        request: HttpRequest = stream  # IngestRequest hands over the Django request itself
        raw = read_body(request, limit=settings.TELEMETRY_MAX_BODY_BYTES)
        return decode_json(raw, content_type=media_type or "")


class IngestRequest(Request):
    """A DRF request whose body always reaches the parser.

    DRF reads a request without Content-Length as having no body; a chunked body has none and
    must still be read (`decoding.read_body` knows when that is safe), and an empty body is an
    error the parser reports, not an empty object.
    """

    def _load_stream(self) -> None:
        self._stream = self._request  # type: ignore[assignment]  # the parser reads the Django request itself


class OrjsonRenderer(BaseRenderer):
    """JSON by orjson; bytes pass through unchanged (a signed answer's signature covers its exact bytes)."""

    media_type = "application/json"
    format = "json"
    charset = None

    def render(self, data: Any, accepted_media_type: str | None = None,
               renderer_context: Mapping[str, Any] | None = None) -> bytes:
        if data is None:
            return b""
        return data if isinstance(data, bytes) else orjson.dumps(data)


class FirstChoiceNegotiation(BaseContentNegotiation):
    """Machine endpoints with one parser and one renderer: nothing to choose, so nothing is compared."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser:
        return next(iter(parsers))

    def select_renderer(self, request: Request, renderers: Iterable[BaseRenderer],
                        format_suffix: str | None = None) -> tuple[BaseRenderer, str]:
        renderer = next(iter(renderers))
        return renderer, renderer.media_type
