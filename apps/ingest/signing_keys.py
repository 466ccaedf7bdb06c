"""The Ed25519 keys that sign ingest answers: where they come from, their ids, how they are published.

`TELEMETRY_SIGNING_KEY` (a 32-byte private key, base64) signs; `TELEMETRY_SIGNING_PUBLIC_KEYS` lists
public keys published beside it without signing: the next key before a rotation (so instances
that pin keys learn it first) and the previous one after. Production refuses to start without a
signing key (settings/production.py): a key made on first use would differ between replicas and
change with every fresh container. Locally, with no key configured, one is generated once and
kept in `TELEMETRY_SIGNING_KEY_FILE` so answers stay verifiable across restarts.

Key ids are RFC 7638 JWK thumbprints: derived from the public key, they never disagree with it.
"""

import base64
import binascii
import contextlib
import hashlib
import os
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

KEY_BYTES = 32
SIGNING = "signing"
PUBLISHED = "published"


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_key(text: str, *, name: str) -> bytes:
    """32 bytes from standard or URL-safe base64, padded or not (`openssl rand -base64 32` works)."""
    cleaned = text.strip().replace("-", "+").replace("_", "/")
    try:
        raw = base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError):
        raw = b""
    if len(raw) != KEY_BYTES:
        raise ImproperlyConfigured(f"{name} must be {KEY_BYTES} bytes in base64 "
                                   "(`python manage.py signing_keys new` makes a key pair).")
    return raw


@dataclass(frozen=True, slots=True)
class PublicKey:
    raw: bytes
    role: str  # SIGNING or PUBLISHED

    @property
    def x(self) -> str:
        """The key as JWK's `x`: base64url without padding."""
        return b64url(self.raw)

    @property
    def kid(self) -> str:
        thumbprint_input = orjson.dumps({"crv": "Ed25519", "kty": "OKP", "x": self.x})  # RFC 7638 member order
        return b64url(hashlib.sha256(thumbprint_input).digest())

    @property
    def pem(self) -> str:
        key = Ed25519PublicKey.from_public_bytes(self.raw)
        return key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()

    def as_jwk(self) -> dict[str, Any]:
        return {"kty": "OKP", "crv": "Ed25519", "x": self.x, "kid": self.kid, "alg": "EdDSA", "use": "sig",
                "status": self.role}


@dataclass(frozen=True, slots=True)
class Keyring:
    private: Ed25519PrivateKey
    signing: PublicKey
    published: tuple[PublicKey, ...]  # every key a verifier may meet, the signing one first
    kid: str  # the signing key's id, computed once: every answer names it


def public_raw(private: Ed25519PrivateKey) -> bytes:
    return private.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def new_private_key() -> str:
    return b64url(os.urandom(KEY_BYTES))


def keyring_from(private_text: str, public_texts: tuple[str, ...]) -> Keyring:
    private = Ed25519PrivateKey.from_private_bytes(decode_key(private_text, name="TELEMETRY_SIGNING_KEY"))
    signing = PublicKey(public_raw(private), SIGNING)
    extra = [PublicKey(decode_key(text, name="TELEMETRY_SIGNING_PUBLIC_KEYS"), PUBLISHED)
             for text in public_texts if text.strip()]
    published = [signing]
    for key in extra:
        if all(key.raw != seen.raw for seen in published):  # the signing key listed again stays signing
            published.append(key)
    return Keyring(private, signing, tuple(published), signing.kid)


def local_key(path: Path) -> str:
    """The key kept in `path`, made on first use. Several processes may start at once: the file
    appears complete or not at all (hard link of a written temporary file), and every process reads it."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=".signing-key-")
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(new_private_key() + "\n")
            with contextlib.suppress(FileExistsError):  # another process was first: its key stands
                os.link(temporary, path)
        finally:
            os.unlink(temporary)
    return path.read_text().strip()


@lru_cache(maxsize=8)
def _keyring(private_text: str, public_texts: tuple[str, ...], key_file: str) -> Keyring:
    return keyring_from(private_text or local_key(Path(key_file)), public_texts)


def keyring() -> Keyring:
    """The process's keys, loaded once per configuration (settings can change in tests)."""
    return _keyring(settings.TELEMETRY_SIGNING_KEY, tuple(settings.TELEMETRY_SIGNING_PUBLIC_KEYS),
                    str(settings.TELEMETRY_SIGNING_KEY_FILE))


def key_set() -> dict[str, Any]:
    """What `/api/v1/signing-keys` serves: a JWK Set (RFC 7517, Ed25519 per RFC 8037)."""
    return {"keys": [key.as_jwk() for key in keyring().published]}
