"""Log lines and admin e-mails carry no client address, e-mail address or ingest key."""

import io
import logging
import runpy
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.core import mail
from django.test import Client, RequestFactory, override_settings
from gunicorn.config import Config
from gunicorn.util import load_class

from apps.core.log_redaction import redact_log_text

GUNICORN_CONF = Path(__file__).resolve().parents[2] / "docker" / "gunicorn.conf.py"
ADDRESS, KEY, EMAIL = "198.51.100.23", "tk_AbCdEfGhIjKlMnOp0123", "ops@example.org"


@pytest.fixture
def console() -> Iterator[io.StringIO]:
    """What the configured console handler writes."""
    handler = next(h for h in logging.getLogger().handlers if h.get_name() == "console")
    assert isinstance(handler, logging.StreamHandler)
    written = io.StringIO()
    previous = handler.setStream(written)
    yield written
    handler.setStream(previous)


def test_keys_credentials_addresses_and_emails_are_redacted_from_log_text() -> None:
    text = redact_log_text(f"Unauthorized: /api/v1/ingest/flowfuse/{KEY} from {ADDRESS} [2001:db8::7]:443 "
                           f"/capture?key={KEY}&x=1 Authorization: Basic dGtfYWJjOg== {EMAIL}")
    for secret in (KEY, ADDRESS, "2001:db8::7", "dGtfYWJjOg==", EMAIL):
        assert secret not in text
    assert "/api/v1/ingest/flowfuse/[redacted]" in text and "?key=[redacted]&x=1" in text


@pytest.mark.django_db
def test_a_refused_request_on_a_keyed_url_is_logged_without_the_key_or_the_address(
        client: Client, console: io.StringIO) -> None:
    response = client.post(f"/api/v1/ingest/flowfuse/{KEY}?key={KEY}", data=b"{}",
                           content_type="application/json", REMOTE_ADDR=ADDRESS)
    assert response.status_code in (401, 403)
    line = console.getvalue()
    assert "django.request" in line and "/api/v1/ingest/flowfuse/[redacted]" in line
    assert KEY not in line and ADDRESS not in line


def test_tracebacks_are_redacted(console: io.StringIO) -> None:
    try:
        raise ValueError(f"connect ECONNREFUSED {ADDRESS}:5432 for {EMAIL}")
    except ValueError:
        logging.getLogger("apps.ingest.views").exception("ingest: unexpected error on %s", f"/x?key={KEY}")
    line = console.getvalue()
    assert "ValueError: connect ECONNREFUSED ip-" in line
    for secret in (KEY, ADDRESS, EMAIL):
        assert secret not in line


@override_settings(ADMINS=[("ops", "ops@example.com")], DEBUG=False)
def test_the_admin_email_reports_neither_the_clients_address_nor_its_key(console: io.StringIO) -> None:
    request = RequestFactory().post(f"/api/v1/ingest/wasp/{KEY}?key={KEY}", REMOTE_ADDR=ADDRESS,
                                    HTTP_X_FORWARDED_FOR=ADDRESS, HTTP_X_TELEMETRY_KEY=KEY)
    try:
        raise RuntimeError(f"stuck on {ADDRESS}")
    except RuntimeError as exc:
        logging.getLogger("django.request").error("Internal Server Error: %s", request.path,
                                                  exc_info=exc, extra={"status_code": 500, "request": request})
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert isinstance(message, mail.EmailMultiAlternatives)  # the admin e-mail has an HTML part
    text = str(message.subject) + str(message.body) + "".join(str(a[1]) for a in message.alternatives)
    assert "RuntimeError: stuck on ip-" in text
    for secret in (KEY, ADDRESS):
        assert secret not in text


def test_gunicorns_access_log_leaves_the_key_out_of_a_keyed_path() -> None:
    conf = runpy.run_path(str(GUNICORN_CONF))
    config = Config()
    config.set("accesslog", "-")
    config.set("access_log_format", conf["access_log_format"])
    logger = load_class(conf["logger_class"])(config)
    environ = {"REMOTE_ADDR": ADDRESS, "REQUEST_METHOD": "POST", "RAW_URI": f"/api/v1/ingest/flowfuse/{KEY}",
               "PATH_INFO": f"/api/v1/ingest/flowfuse/{KEY}", "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1",
               "HTTP_USER_AGENT": "flowforge"}
    lines: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    handler = Collect()
    logger.access_log.addHandler(handler)
    try:
        logger.access(SimpleNamespace(status="200 OK", sent=17, headers=[]), SimpleNamespace(headers=[]),
                      environ, timedelta(milliseconds=3))
    finally:
        logger.access_log.removeHandler(handler)
    assert '"POST /api/v1/ingest/flowfuse/[redacted] HTTP/1.1" 200 17' in lines[-1]
    assert KEY not in lines[-1] and ADDRESS not in lines[-1]


