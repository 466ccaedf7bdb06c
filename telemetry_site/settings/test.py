"""Settings for the test suite: SQLite unless DATABASE_URL is set, Redis only when REDIS_URL is set."""

import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import REDIS_URL

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
TELEMETRY_HASH_KEY = "test-hash-key"
DEBUG = False
# Ingest: no product cache, so a test that edits a product or notice sees it on its next ping.
TELEMETRY_PRODUCT_CACHE_SECONDS = 0
# Each test run gets its own broker folder so a stale message from an earlier run is never consumed.
if not REDIS_URL:
    _broker_dir = Path(tempfile.mkdtemp(prefix="telemetry-broker-"))
    (_broker_dir / "processed").mkdir()
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
