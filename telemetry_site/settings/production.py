"""Production settings: refuse to start without a real SECRET_KEY and ALLOWED_HOSTS."""

from django.core.exceptions import ImproperlyConfigured

from apps.ingest.signing_keys import keyring_from

from .base import *  # noqa: F403
from .base import env

SECRET_KEY = env.str("SECRET_KEY", default="")
# Django's own deploy check asks for 50 characters and 5 different ones; a shorter key is refused here.
if (not SECRET_KEY or SECRET_KEY.startswith(("dev-insecure", "django-insecure")) or len(SECRET_KEY) < 50
        or len(set(SECRET_KEY)) < 5):
    raise ImproperlyConfigured("SECRET_KEY must be set to a random value of at least 50 characters "
                               "(python -c 'import secrets; print(secrets.token_urlsafe(50))').")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must list the host names this server answers to.")
TELEMETRY_HASH_KEY = env.str("TELEMETRY_HASH_KEY", default=SECRET_KEY)
# gunicorn runs threaded workers (docker/gunicorn.conf.py): their ingest requests share commits.
TELEMETRY_INGEST_GROUP_COMMIT = env.bool("TELEMETRY_INGEST_GROUP_COMMIT", default=True)

DEBUG = False

# --- HTTPS (docs/security.md) ------------------------------------------------------------------------
# The TLS proxy in front must set X-Forwarded-Proto (and overwrite any the client sent); without a
# proxy, serve TLS directly. Ingest paths never redirect (apps/ingest/middleware.py runs first).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
# Load balancers and container probes ask for /healthz over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
# Preloading is a promise to browser vendors about the whole domain: the operator opts in.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
if not SECURE_HSTS_PRELOAD:
    SILENCED_SYSTEM_CHECKS = ["security.W021"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)

# Signed answers: a key generated on first use would differ between replicas and change with every
# fresh container, and instances would refuse the answers. Checked here so a bad value stops startup.
TELEMETRY_SIGNING_KEY = env.str("TELEMETRY_SIGNING_KEY", default="")
if not TELEMETRY_SIGNING_KEY:
    raise ImproperlyConfigured("TELEMETRY_SIGNING_KEY must be set: an Ed25519 private key, 32 bytes in base64 "
                               "(`openssl rand -base64 32`, or `python manage.py signing_keys new`).")
keyring_from(TELEMETRY_SIGNING_KEY, tuple(env.list("TELEMETRY_SIGNING_PUBLIC_KEYS", default=[])))  # malformed: raises
