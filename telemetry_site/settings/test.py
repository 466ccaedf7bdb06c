"""Settings for the test suite: SQLite unless DATABASE_URL is set, Redis only when REDIS_URL is set."""

import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import DATABASES, REDIS_URL, env

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
TELEMETRY_HASH_KEY = "test-hash-key"
DEBUG = False
# Ingest: no product cache unless a test turns it on (a server process started by a test does,
# through the environment, to check that staff changes reach a cached product at once).
TELEMETRY_PRODUCT_CACHE_SECONDS = env.int("TELEMETRY_PRODUCT_CACHE_SECONDS", default=0)
# Signed answers: a key made for this run, outside the checkout.
TELEMETRY_SIGNING_KEY_FILE = str(Path(tempfile.mkdtemp(prefix="telemetry-signing-")) / "signing-key")
# Staff API: tests send many wrong tokens from one address; tests/security sets a low rate to test it.
TELEMETRY_TOKEN_FAILURE_RATE = "100000/min"
# Ingest: suites that send floods from one address with one key (hostile input, schemathesis,
# concurrency) are not about rate limits; tests/ingest/test_throttles.py sets low limits where it tests them.
TELEMETRY_INGEST_RATE_PER_KEY = env.str("TELEMETRY_INGEST_RATE_PER_KEY", default="100000000/min")
TELEMETRY_INGEST_RATE_PER_ADDRESS = env.str("TELEMETRY_INGEST_RATE_PER_ADDRESS", default="100000000/min")
# Each test run gets its own broker folder so a stale message from an earlier run is never consumed.
# A Celery worker started by a test is handed the same folder through TELEMETRY_TEST_BROKER_DIR.
if not REDIS_URL:
    _broker_dir = Path(env.str("TELEMETRY_TEST_BROKER_DIR", default="") or tempfile.mkdtemp(prefix="telemetry-broker-"))
    (_broker_dir / "processed").mkdir(exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        # Without it kombu keeps its exchange tables in ./control, wherever the worker started.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
# Scheduled jobs: the SQLite test database is a file (not in-memory) so a Celery worker process
# and concurrent threads started by a test can open it too.
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["TEST"] = {"NAME": str(Path(tempfile.mkdtemp(prefix="telemetry-testdb-")) / "test.sqlite3")}
# A read replica in the test suite is the test database itself (pytest-django creates no second
# database); tests/scale/test_replica.py runs the app against a real streaming replica.
if "replica" in DATABASES:
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
