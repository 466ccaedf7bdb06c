"""OpenAPI description of signed answers: the signature header, the nonce header, the key set path."""

from typing import Any

from apps.ingest.signing import HEADER, NONCE_HEADER

SIGNED_PATHS = ("/api/v1/ingest", "/api/v1/ingest/hasura", "/api/v1/ingest/flowfuse", "/api/v1/ingest/wasp")
KEYS_PATH = "/api/v1/signing-keys"

_SIGNATURE = {
    "description": 'Ed25519 signature of the answer: `keyid="…", algorithm="ed25519", created="<unix seconds>", '
                   'signature="<base64>"`, over the created time, the request\'s nonce, the SHA-256 of the body '
                   f"bytes and the instance id. Public keys: `{KEYS_PATH}`. How to verify: docs/signed-answers.md.",
    "schema": {"type": "string"},
}
_NONCE = {
    "name": NONCE_HEADER, "in": "header", "required": False,
    "description": "Optional: a value the answer's signature will cover, so the answer cannot be replayed "
                   "to this request's sender later (1 to 128 printable ASCII characters, no spaces).",
    "schema": {"type": "string", "pattern": r"^[\x21-\x7e]{1,128}$"},
}
SCHEMAS: dict[str, dict[str, Any]] = {
    "SigningKey": {"type": "object", "required": ["kty", "crv", "x", "kid", "alg", "use", "status"], "properties": {
        "kty": {"type": "string", "enum": ["OKP"]}, "crv": {"type": "string", "enum": ["Ed25519"]},
        "x": {"type": "string", "description": "The public key, base64url without padding."},
        "kid": {"type": "string", "description": "The `keyid` of signatures made with it (RFC 7638 thumbprint)."},
        "alg": {"type": "string", "enum": ["EdDSA"]}, "use": {"type": "string", "enum": ["sig"]},
        "status": {"type": "string", "enum": ["signing", "published"],
                   "description": "`signing` signs answers now; `published` is the next or the previous key."}}},
    "SigningKeySet": {"type": "object", "required": ["keys"], "properties": {
        "keys": {"type": "array", "items": {"$ref": "#/components/schemas/SigningKey"},
                 "description": "A JSON Web Key Set, the signing key first."}}},
}


def add_signing_docs(paths: dict[str, Any], schemas: dict[str, Any]) -> None:
    for path in SIGNED_PATHS:
        operation = paths[path]["post"]
        operation.setdefault("parameters", []).append(_NONCE)
        operation["responses"]["200"]["headers"] = {HEADER: _SIGNATURE}
    paths[KEYS_PATH] = {"get": {
        "tags": ["ingest"], "summary": "Public keys that verify signed ingest answers",
        "operationId": "signing_keys", "security": [],
        "description": "No authentication. Ship these keys with your product; a rotation publishes the next key "
                       "here before it signs.",
        "responses": {"200": {"description": "The published keys.", "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/SigningKeySet"}}}}},
    }}
    schemas.update(SCHEMAS)
