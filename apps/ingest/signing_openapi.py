"""OpenAPI description of signed answers: the signature header, the nonce header, the key set path."""

from typing import Any

from drf_spectacular.utils import OpenApiParameter

from apps.ingest.signing import HEADER, NONCE_HEADER

KEYS_PATH = "/api/v1/signing-keys"

_SIGNATURE = ('Ed25519 signature of the answer: `keyid="…", algorithm="ed25519", created="<unix seconds>", '
              'signature="<base64>"`, over the created time, the request\'s nonce, the SHA-256 of the body '
              f"bytes and the instance id. Public keys: `{KEYS_PATH}`. How to verify: docs/signed-answers.md.")
_NONCE_DESCRIPTION = ("Optional: a value the answer's signature will cover, so the answer cannot be replayed "
                      "to this request's sender later (1 to 128 printable ASCII characters, no spaces; an empty "
                      "header is no nonce).")
SIGNING_KEY: dict[str, Any] = {
    "type": "object", "required": ["kty", "crv", "x", "kid", "alg", "use", "status"], "properties": {
        "kty": {"type": "string", "enum": ["OKP"]}, "crv": {"type": "string", "enum": ["Ed25519"]},
        "x": {"type": "string", "description": "The public key, base64url without padding."},
        "kid": {"type": "string", "description": "The `keyid` of signatures made with it (RFC 7638 thumbprint)."},
        "alg": {"type": "string", "enum": ["EdDSA"]}, "use": {"type": "string", "enum": ["sig"]},
        "status": {"type": "string", "enum": ["signing", "published"],
                   "description": "`signing` signs answers now; `published` is the next or the previous key."}}}
KEY_SET: dict[str, Any] = {"type": "object", "required": ["keys"], "properties": {
    "keys": {"type": "array", "items": SIGNING_KEY, "description": "A JSON Web Key Set, the signing key first."}}}


def signing_parameters() -> list[OpenApiParameter]:
    """The nonce a request may send and the signature header of the answer, for every signed operation."""
    return [OpenApiParameter(NONCE_HEADER, str, OpenApiParameter.HEADER, required=False,
                             pattern=r"^[\x21-\x7e]{0,128}$", description=_NONCE_DESCRIPTION),
            OpenApiParameter(HEADER, str, OpenApiParameter.HEADER, response=[200], description=_SIGNATURE)]
