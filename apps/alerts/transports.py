"""Sending one notification over one channel: a signed webhook, a Slack incoming webhook, or e-mail.

Written by hand rather than through Apprise: webhooks must carry this platform's own signature
headers, every attempt must record the receiver's status code and duration for the admin, retries
belong to the Celery task (with backoff and a record per attempt), and e-mail must go through
Django's configured backend. See docs/alerts.md.
"""

import hashlib
import hmac
import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.conf import settings
from django.core.mail import send_mail

from apps.alerts import payloads
from apps.alerts.models import AlertChannel

# Answers worth trying again later; any other 4xx means the request itself is wrong.
RETRYABLE_STATUS = {408, 425, 429}
ERROR_LIMIT = 500


@dataclass(frozen=True)
class AttemptResult:
    delivered: bool
    status_code: int | None = None
    error: str = ""
    duration_ms: int = 0
    retryable: bool = True


def signature(*, secret: str, timestamp: str, body: bytes) -> str:
    """`sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">`, the X-Telemetry-Signature header."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # A redirected POST would be re-sent (or turned into a GET) somewhere the channel never named.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirect())


def _post(url: str, body: bytes, headers: dict[str, str]) -> AttemptResult:
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "Content-Type": "application/json", "User-Agent": "telemetry-alerts/1", **headers})
    started = time.monotonic()
    try:
        with _opener.open(request, timeout=settings.TELEMETRY_ALERT_HTTP_TIMEOUT) as response:
            status = response.status
            response.read(4096)
    except urllib.error.HTTPError as exc:
        status = exc.code
    except (OSError, ValueError) as exc:  # refused, timed out, DNS, TLS, malformed URL
        return AttemptResult(delivered=False, error=f"{type(exc).__name__}: {exc}"[:ERROR_LIMIT],
                             duration_ms=_ms_since(started))
    duration = _ms_since(started)
    if 200 <= status < 300:
        return AttemptResult(delivered=True, status_code=status, duration_ms=duration)
    retryable = status >= 500 or status in RETRYABLE_STATUS
    return AttemptResult(delivered=False, status_code=status, error=f"HTTP {status}", duration_ms=duration,
                         retryable=retryable)


def _ms_since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _dumps(data: dict[str, Any]) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def send(*, channel: AlertChannel, payload: dict[str, Any], now: datetime) -> AttemptResult:
    if channel.kind == AlertChannel.Kind.WEBHOOK:
        body = _dumps(payload)
        timestamp = str(int(now.timestamp()))
        headers = {"X-Telemetry-Timestamp": timestamp}
        if channel.secret:
            headers["X-Telemetry-Signature"] = signature(secret=channel.secret, timestamp=timestamp, body=body)
        return _post(channel.target, body, headers)
    if channel.kind == AlertChannel.Kind.SLACK:
        return _post(channel.target, _dumps(payloads.slack_message(payload)), {})
    return _send_email(channel, payload)


def _send_email(channel: AlertChannel, payload: dict[str, Any]) -> AttemptResult:
    started = time.monotonic()
    try:
        send_mail(subject=payloads.headline(payload)[:200], message=payloads.text(payload),
                  from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=channel.recipients())
    except Exception as exc:
        return AttemptResult(delivered=False, error=f"{type(exc).__name__}: {exc}"[:ERROR_LIMIT],
                             duration_ms=_ms_since(started))
    return AttemptResult(delivered=True, duration_ms=_ms_since(started))
