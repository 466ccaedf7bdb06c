"""Signed answers: every answer of the native and product ingest endpoints carries an Ed25519 signature.

Modelled on Keygen's `Keygen-Signature` (keyid, algorithm, signature over a canonical string that
holds the date and the SHA-256 digest of the body), with what a two-way answer needs on top: the
instance the answer is for, so it cannot be replayed to another instance, and an optional nonce
of the request (`X-Telemetry-Nonce`) for instances whose clocks cannot be trusted. The body is
signed as the exact bytes sent, so no answer field changes and no JSON canonicalisation is needed.

    X-Telemetry-Signature: keyid="<kid>", algorithm="ed25519", created="<unix seconds>", signature="<base64>"

    signed string (UTF-8, lines joined by "\\n", no trailing newline):
        telemetry-answer/v1
        created: <the header's created>
        nonce: <the request's X-Telemetry-Nonce, or empty>
        digest: sha-256=<base64 of SHA-256 of the body bytes>
        instance: <the id of the instance the answer is for, or empty>

The instance id comes last, so an id containing anything at all cannot be read as another field.
docs/signed-answers.md shows instances how to verify; keys are in `signing_keys`.
"""

import base64
import hashlib
import logging
import re
import time
from collections.abc import Mapping, Sequence

from django.core.exceptions import ImproperlyConfigured

from apps.core.exceptions import ApiError
from apps.ingest.envelope import HEARTBEAT, Envelope
from apps.ingest.signing_keys import keyring

logger = logging.getLogger(__name__)

SIGNED_STYLES = ("native", "product")  # the answer styles of ingest views that carry a two-way answer
HEADER = "X-Telemetry-Signature"
NONCE_HEADER = "X-Telemetry-Nonce"
ALGORITHM = "ed25519"
VERSION = "telemetry-answer/v1"
# Printable ASCII without spaces: a nonce can never add a line to the signed string.
_NONCE = re.compile(r"[\x21-\x7e]{1,128}")


def signed_string(*, created: int, nonce: str, body: bytes, instance_id: str) -> bytes:
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    return (f"{VERSION}\ncreated: {created}\nnonce: {nonce}\ndigest: sha-256={digest}\n"
            f"instance: {instance_id}").encode()


def sign_answer(body: bytes, *, instance_id: str, nonce: str, created: int | None = None) -> str | None:
    """The signature header's value for an answer body; None when no key can be loaded.

    Called after the commit: the rows are stored, so a broken key configuration must not turn
    the answer into a 5xx (the client would retry what is already stored). An unsigned answer
    is refused by a verifying instance, which is the safe way to fail.
    """
    try:
        keys = keyring()
    except ImproperlyConfigured:
        logger.exception("signed answers: no usable signing key; answering unsigned")
        return None
    created = int(time.time()) if created is None else created
    message = signed_string(created=created, nonce=nonce, body=body, instance_id=instance_id)
    signature = base64.b64encode(keys.private.sign(message)).decode()
    return f'keyid="{keys.kid}", algorithm="{ALGORITHM}", created="{created}", signature="{signature}"'


def request_nonce(meta: Mapping[str, str]) -> str:
    """The request's `X-Telemetry-Nonce`, checked before anything is stored."""
    nonce = meta.get("HTTP_X_TELEMETRY_NONCE", "")
    if nonce and not _NONCE.fullmatch(nonce):
        raise ApiError(code="invalid_nonce",
                       message=f"{NONCE_HEADER} must be 1 to 128 printable ASCII characters without spaces.")
    return nonce


def answered_instance_id(envelopes: Sequence[Envelope], *, always: bool, sent_ids: Mapping[int, str]) -> str:
    """The instance whose two-way answer is at the top level of the body (see `answer.native`):
    the last heartbeat's, or with `always` (product endpoints) the last record's; empty when the
    answer holds counts only or answers a batch of several instances. Named by the id its record
    carried (`sent_ids`, by record index): the one the instance knows itself by, even if the
    pipeline stored another form of it."""
    if len({e.instance_id for e in envelopes if e.kind == HEARTBEAT}) > 1:
        return ""  # the top level answers the batch as a whole, no single instance
    subject = next((e for e in reversed(envelopes) if e.kind == HEARTBEAT), None)
    if subject is None and always and envelopes:
        subject = envelopes[-1]
    return sent_ids.get(subject.index, subject.instance_id) if subject is not None else ""
