"""Production settings fail fast without real secrets; local defaults need no service at all."""

import base64
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GOOD_KEY = "k9Vq2-" * 10  # 60 characters, 6 different ones


def _load_production(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "ALLOWED_HOSTS"}}
    clean.setdefault("TELEMETRY_SIGNING_KEY", base64.b64encode(os.urandom(32)).decode())  # signed answers
    clean.update(env, DJANGO_SETTINGS_MODULE="telemetry_site.settings.production")
    return subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=clean,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("env", "complaint"), [
    ({"ALLOWED_HOSTS": "telemetry.example.com"}, "SECRET_KEY"),
    ({"SECRET_KEY": "dev-insecure-only-for-local-use", "ALLOWED_HOSTS": "x"}, "SECRET_KEY"),
    ({"SECRET_KEY": GOOD_KEY}, "ALLOWED_HOSTS"),
    ({"SECRET_KEY": GOOD_KEY[:49], "ALLOWED_HOSTS": "x"}, "SECRET_KEY"),
    ({"SECRET_KEY": "k" * 60, "ALLOWED_HOSTS": "x"}, "SECRET_KEY"),
])
def test_production_refuses_to_start_without_secrets(env: dict[str, str], complaint: str) -> None:
    result = _load_production(env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and complaint in result.stderr


def test_production_starts_with_secrets() -> None:
    result = _load_production({"SECRET_KEY": GOOD_KEY, "ALLOWED_HOSTS": "telemetry.example.com"})
    assert result.returncode == 0, result.stderr
