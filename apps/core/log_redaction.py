"""Log lines without client addresses, e-mail addresses or ingest keys, whoever wrote them.

Django's request logger writes the path of every 4xx/5xx (the keyed product URLs hold the ingest
key in the path) and passes the request itself on (its META has the client's address); an
exception's text can quote a payload. The filter rewrites each record before any handler sees it.
"""

import logging
import re
import traceback
from typing import Any

from apps.core.privacy import redact

REDACTED = "[redacted]"
# The places a request carries an ingest key or credential (apps/ingest/auth.py reads these).
_KEY_IN_PATH = re.compile(r"(/api/v1/ingest/(?:hasura|flowfuse|wasp)/)[^/?#\s\"']+")
_KEY_IN_QUERY = re.compile(r"([?&](?:key|api_key|token|writeKey)=)[^&#\s\"']+", re.IGNORECASE)
_CREDENTIALS = re.compile(r"\b((?:Basic|Bearer|Token)\s+)[\w.~+/=-]+")
_INGEST_KEY = re.compile(r"\btk_[\w-]{8,}")


def redact_log_text(text: str) -> str:
    """`text` without keys, credentials, addresses or e-mails (addresses and e-mails become keyed hashes)."""
    if "/" in text or "=" in text or "tk_" in text or " " in text:
        text = _KEY_IN_PATH.sub(rf"\1{REDACTED}", text)
        text = _KEY_IN_QUERY.sub(rf"\1{REDACTED}", text)
        text = _CREDENTIALS.sub(rf"\1{REDACTED}", text)
        text = _INGEST_KEY.sub(REDACTED, text)
    return redact(text)


class RedactPersonalData(logging.Filter):
    """Rewrites a record's message (and traceback) redacted, and drops the request it carries."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed call: log its raw format string rather than nothing
            message = str(record.msg)
        if record.exc_info:
            # The traceback goes into the message so every handler (console, mail) gets it redacted.
            message += "\n" + "".join(traceback.format_exception(*record.exc_info)).rstrip()
            record.exc_info, record.exc_text = None, None
        record.msg, record.args = redact_log_text(message), ()
        # AdminEmailHandler would report the request's META: the client's address, the query string.
        record.__dict__.pop("request", None)
        return True


def access_log_redacted(atoms: dict[str, Any]) -> dict[str, Any]:
    """Gunicorn's access-log fields with the key taken out of the path and request line."""
    for name in ("U", "r", "q", "f"):
        if name in atoms and isinstance(atoms[name], str):
            atoms[name] = redact_log_text(atoms[name])
    return atoms
