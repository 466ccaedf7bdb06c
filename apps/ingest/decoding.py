"""From HTTP request to decoded JSON, refusing oversized, bomb-shaped or malformed bodies.

The size limit counts decompressed bytes: a gzip body is inflated at most one byte past the
limit, so a bomb costs the server no more than an honest body of the limit's size.
"""

import base64
import binascii
import json
import re
import zlib
from typing import Any
from urllib.parse import parse_qs

import orjson
from django.http import HttpRequest

from apps.core.exceptions import ApiError

_GZIP = ("gzip", "x-gzip", "gzip-js")
_IDENTITY = ("", "identity")
_BOM = b"\xef\xbb\xbf"
# A body that starts like a URL-encoded form with a `data` field (PostHog), whatever its label.
_FORM_FIELD = re.compile(rb"^(?:[A-Za-z0-9_.%-]+=[^&]*&)*data=")
# What orjson refuses and a record limit can judge instead: NaN, Infinity, exponents beyond a double.
_NON_FINITE = re.compile(rb"NaN|Infinity|[eE]\+?[0-9]{3}|[0-9]{300}")
_SURROGATE_ESCAPE = re.compile(rb"\\[uU][dD][89a-fA-F]")
# Concatenated gzip members are legal but rare (a client appending to a compressed buffer); a
# flood of empty ones costs a decompressor each, so the count is bounded before the size is.
MAX_GZIP_MEMBERS = 64


def too_large(limit: int) -> ApiError:
    return ApiError(code="payload_too_large", status_code=413,
                    message=f"The body is larger than {limit} bytes (decompressed).")


def read_body(request: HttpRequest, *, limit: int) -> bytes:
    """The request body, decompressed, at most `limit` bytes."""
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    raw = request.read(limit + 1) if declared else _read_unsized(request, limit=limit)
    if len(raw) > limit:
        raise too_large(limit)
    encoding = request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    compression = request.GET.get("compression", "").strip().lower()  # PostHog's browser SDK says it here
    if encoding in _GZIP or compression in _GZIP:
        return gunzip(raw, limit=limit)
    if encoding not in _IDENTITY:
        raise ApiError(code="unsupported_encoding", message=f"Content-Encoding {encoding!r} is not supported; "
                       "send identity or gzip.")
    if compression and compression not in ("none", "base64"):
        raise ApiError(code="unsupported_encoding", message=f"compression={compression!r} is not supported.")
    return raw


def _read_unsized(request: HttpRequest, *, limit: int) -> bytes:
    """A body sent without Content-Length (Transfer-Encoding: chunked), at most `limit` + 1 bytes.

    Django reads such a body as empty. A server that decodes the chunks and ends the stream at the
    body's end (gunicorn) says so with `wsgi.input_terminated`; the body is then read from the
    WSGI stream up to its end. A server that does not cannot be read safely (reading could wait for
    the next request on the connection): 411.
    """
    chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    if not chunked:
        return b""
    if not request.META.get("wsgi.input_terminated"):
        raise ApiError(code="length_required", status_code=411,
                       message="This server cannot read a chunked body: send Content-Length.")
    stream = request.META["wsgi.input"]
    parts: list[bytes] = []
    size = 0
    while size <= limit:
        part = stream.read(limit + 1 - size)
        if not part:
            break
        parts.append(part)
        size += len(part)
    return b"".join(parts)


def gunzip(raw: bytes, *, limit: int) -> bytes:
    out = bytearray()
    data = raw
    members = 0
    while data:
        members += 1
        if members > MAX_GZIP_MEMBERS:
            raise ApiError(code="invalid_encoding", message=f"The gzip body has more than {MAX_GZIP_MEMBERS} "
                           "members; send one.")
        inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 32)  # gzip or zlib header
        try:
            out += inflater.decompress(data, limit + 1 - len(out))
        except zlib.error:
            raise ApiError(code="invalid_encoding", message="The body is not valid gzip.") from None
        if len(out) > limit or inflater.unconsumed_tail:
            raise too_large(limit)
        if not inflater.eof:
            raise ApiError(code="invalid_encoding", message="The gzip body is truncated.")
        data = inflater.unused_data  # concatenated gzip members are one stream
    return bytes(out)


def decode_json(raw: bytes, *, content_type: str = "") -> Any:
    """Parse the body as JSON (orjson), whatever the Content-Type says.

    `curl -d` labels JSON `application/x-www-form-urlencoded` and `navigator.sendBeacon` labels it
    `text/plain`, so a body that looks like JSON is parsed as JSON under any label. Only a body that
    does not is read as a form whose `data` field carries the JSON, plain or base64 (PostHog's
    browser and older SDKs).
    """
    body = raw.removeprefix(_BOM).strip()  # PowerShell's Invoke-RestMethod may prefix one
    if not body:
        raise ApiError(code="invalid_json", message="The body is empty.")
    if body[:1] not in (b"{", b"[") and (_is_form(content_type) or _FORM_FIELD.match(body)):
        body = _form_data(body)
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        reason = str(exc).lower()
        if "utf-8" in reason or "surrogate" in reason:  # an unpaired \ud800 escape encodes no character either
            raise ApiError(code="invalid_encoding", message="The body is not valid UTF-8.") from None
        parsed = _with_unrepresentable_numbers(body)
        if parsed is None:
            raise ApiError(code="invalid_json", message=f"The body is not valid JSON: {exc}.") from None
    # PostgreSQL text and jsonb cannot hold U+0000; in JSON it can only arrive escaped, so the
    # byte check keeps the walk off the common path.
    return without_nul(parsed) if b"\\u0000" in body else parsed


def _with_unrepresentable_numbers(body: bytes) -> Any:
    """The body parsed with NaN, Infinity and numbers beyond a double (1e400) kept as non-finite floats.

    orjson refuses the whole body for them, but Python's `json.dumps` writes NaN by default: one
    such record must be refused alone by the record limits, not take its batch down. Only bodies
    orjson refused get here, and only when such a number could be why; lone surrogate escapes,
    which orjson refuses and the standard parser would let through to the database, never do.
    """
    if _SURROGATE_ESCAPE.search(body) or not _NON_FINITE.search(body):
        return None
    try:
        return json.loads(body, parse_int=_bounded_int)
    except (ValueError, RecursionError):
        return None


def _bounded_int(digits: str) -> int | float:
    # Longer than any 64-bit integer: a float, refused by the record limits, instead of a
    # conversion that Python caps at 4300 digits.
    return int(digits) if len(digits) <= 20 else float(digits)


def _is_form(content_type: str) -> bool:
    return content_type.split(";", 1)[0].strip().lower() in ("application/x-www-form-urlencoded",
                                                              "multipart/form-data")


def without_nul(value: Any) -> Any:
    """`value` with every U+0000 removed from its strings and keys."""
    if isinstance(value, str):
        return value.replace("\x00", "")
    if isinstance(value, list):
        return [without_nul(item) for item in value]
    if isinstance(value, dict):
        return {key.replace("\x00", ""): without_nul(item) for key, item in value.items()}
    return value


def _form_data(raw: bytes) -> bytes:
    try:
        fields = parse_qs(raw.decode("ascii"), keep_blank_values=True)
    except UnicodeDecodeError:
        raise ApiError(code="invalid_encoding", message="A form body must be URL-encoded ASCII.") from None
    if "data" not in fields:
        raise ApiError(code="invalid_json", message="The body is neither JSON nor a form with a `data` field "
                       "carrying JSON.")
    data = fields["data"][0].strip()
    if not data:
        raise ApiError(code="invalid_json", message="The form field `data` is empty.")
    if data[:1] in ("{", "["):
        return data.encode()
    data = data.replace(" ", "+")  # a `+` the sender forgot to escape arrives as a space
    try:
        decoded = base64.b64decode(data + "=" * (-len(data) % 4), altchars=b"-_" if "-" in data or "_" in data
                                   else None, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(code="invalid_encoding", message="The form field `data` is neither JSON nor base64.") from None
    if not decoded.strip():
        raise ApiError(code="invalid_json", message="The form field `data` decodes to an empty body.")
    return decoded
