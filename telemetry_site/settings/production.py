"""Production settings: refuse to start without a real SECRET_KEY and ALLOWED_HOSTS."""

from django.core.exceptions import ImproperlyConfigured

from apps.ingest.signing_keys import keyring_from

from .base import *  # noqa: F403
from .base import env

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY or SECRET_KEY.startswith("dev-insecure") or len(SECRET_KEY) < 32:
    raise ImproperlyConfigured("SECRET_KEY must be set to a random value of at least 32 characters.")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=[])
if not ALLOWED_HOSTS:
    raise ImproperlyConfigured("ALLOWED_HOSTS must list the host names this server answers to.")
TELEMETRY_HASH_KEY = env.str("TELEMETRY_HASH_KEY", default=SECRET_KEY)
# gunicorn runs threaded workers (docker/gunicorn.conf.py): their ingest requests share commits.
TELEMETRY_INGEST_GROUP_COMMIT = env.bool("TELEMETRY_INGEST_GROUP_COMMIT", default=True)

DEBUG = False
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)

# Signed answers: a key generated on first use would differ between replicas and change with every
# fresh container, and instances would refuse the answers. Checked here so a bad value stops startup.
TELEMETRY_SIGNING_KEY = env.str("TELEMETRY_SIGNING_KEY", default="")
if not TELEMETRY_SIGNING_KEY:
    raise ImproperlyConfigured("TELEMETRY_SIGNING_KEY must be set: an Ed25519 private key, 32 bytes in base64 "
                               "(`openssl rand -base64 32`, or `python manage.py signing_keys new`).")
keyring_from(TELEMETRY_SIGNING_KEY, tuple(env.list("TELEMETRY_SIGNING_PUBLIC_KEYS", default=[])))  # malformed: raises
