"""Content-Security-Policy on every page, HTTPS in production, `check --deploy` clean."""

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {"SECRET_KEY": "k9Vq2-" * 10, "ALLOWED_HOSTS": "telemetry.example.com",
              # Any 32 bytes: production refuses to start without a key to sign answers with.
              "TELEMETRY_SIGNING_KEY": "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
              "DJANGO_SETTINGS_MODULE": "telemetry_site.settings.production"}


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/admin/login/", "/admin/", "/admin/fleet/", "/api/docs/", "/api/v1/"])
def test_every_page_has_a_policy_without_inline_scripts(path: str, staff_user: Any) -> None:
    client = Client()
    client.force_login(staff_user)
    policy = client.get(path)["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["default-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    assert directives["object-src"] == "'none'"


@pytest.mark.django_db
def test_the_api_docs_page_loads_its_start_up_code_as_a_file(staff_user: Any) -> None:
    client = Client()
    client.force_login(staff_user)
    page = client.get("/api/docs/").content.decode()
    assert "<script>" not in page.replace(" ", "")
    script = client.get("/api/docs/?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


def _production(code: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "ALLOWED_HOSTS", "SECURE_SSL_REDIRECT"}}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**env, **PRODUCTION}, capture_output=True,
                          text=True, timeout=120)


def test_check_deploy_is_clean_with_production_settings() -> None:
    result = _production("import sys; from django.core.management import execute_from_command_line; "
                         "execute_from_command_line(['manage.py', 'check', '--deploy', '--fail-level', 'WARNING'])")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_production_redirects_to_https_and_sends_hsts() -> None:
    # A request through Django's test client, with the production settings (no database needed).
    result = _production("""
import django; django.setup()
from django.test import Client
from django.test.utils import setup_test_environment
setup_test_environment()
client = Client(HTTP_HOST="telemetry.example.com")
plain = client.get("/admin/login/")
assert plain.status_code == 301 and plain["Location"] == "https://telemetry.example.com/admin/login/", plain
secure = client.get("/admin/login/", HTTP_X_FORWARDED_PROTO="https")
assert secure["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains", secure.headers
assert "Content-Security-Policy" in secure
# Probes ask for the health check over plain HTTP; ingest clients are never redirected.
assert client.get("/healthz").status_code != 301
assert client.post("/api/v1/ingest", b"{}", content_type="application/json").status_code != 301
print("ok")
""")
    assert result.returncode == 0 and "ok" in result.stdout, result.stdout + result.stderr
