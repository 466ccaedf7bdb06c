"""Settings for local use: every value has a default that works with no services at all.

`DATABASE_URL` switches to PostgreSQL, `REDIS_URL` to Redis for the Celery broker and the cache.
The README lists every variable.
"""

from pathlib import Path

import environ
from celery.schedules import crontab  # noqa: F401  (re-exported for schedule definitions)
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parents[2]
env = environ.Env()
if (BASE_DIR / ".env").exists():
    environ.Env.read_env(BASE_DIR / ".env")

VAR_DIR = Path(env.str("TELEMETRY_VAR_DIR", default=str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = env.str("SECRET_KEY", default="dev-insecure-only-for-local-use")
DEBUG = env.bool("DEBUG", default=True)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Keyed hash for IP addresses and erased instance ids: a separate secret so rotating SECRET_KEY
# (sessions) does not orphan every stored hash.
TELEMETRY_HASH_KEY = env.str("TELEMETRY_HASH_KEY", default=SECRET_KEY)
# Largest accepted request body, after decompression.
TELEMETRY_MAX_BODY_BYTES = env.int("TELEMETRY_MAX_BODY_BYTES", default=1_048_576)
# Ingest: seconds a product (key, event mapping, latest version, notices) stays cached per process.
TELEMETRY_PRODUCT_CACHE_SECONDS = env.int("TELEMETRY_PRODUCT_CACHE_SECONDS", default=30)
# Ingest: concurrent requests of a threaded server process share one transaction (group commit,
# apps/ingest/group_commit.py). Off by default here (runserver, tests); on in production settings.
TELEMETRY_INGEST_GROUP_COMMIT = env.bool("TELEMETRY_INGEST_GROUP_COMMIT", default=False)
# Ingest rate limits (apps/ingest/throttles.py, docs/ingest.md "Rate limits"), in DRF's "N/period"
# form (period s, min, h or day); a product can set its own per minute (Product.ingest_rate_per_*).
# A vendor's whole fleet shares one key, so the per-key default is far above what any fleet sends
# (100,000 instances flushing a batch every 10 s would be 10,000/s at worst: a key needing more sets
# its own): it only stops a leaked or looping key from taking every worker. One instance sends a
# heartbeat and a batch every few seconds at most, so 600/min per address is room for a hundred
# instances behind one NAT, while one instance stuck in a loop is held to 10 requests a second.
TELEMETRY_INGEST_RATE_PER_KEY = env.str("TELEMETRY_INGEST_RATE_PER_KEY", default="600000/min")
TELEMETRY_INGEST_RATE_PER_ADDRESS = env.str("TELEMETRY_INGEST_RATE_PER_ADDRESS", default="600/min")
# The ingest views' DRF throttles (dotted paths; the staff API keeps REST_FRAMEWORK's own); an
# empty list turns ingest rate limits off.
TELEMETRY_INGEST_THROTTLE_CLASSES: list[str] = env.list("TELEMETRY_INGEST_THROTTLE_CLASSES", default=[
    "apps.ingest.throttles.KeyRateThrottle", "apps.ingest.throttles.AddressRateThrottle"])
# When the throttles' cache (Redis) fails, ingest goes on unthrottled and asks it again only after
# this many seconds, so a dead Redis costs a request nothing (see CACHES["throttle"] for its timeouts).
TELEMETRY_INGEST_THROTTLE_BACKOFF_SECONDS = env.float("TELEMETRY_INGEST_THROTTLE_BACKOFF_SECONDS", default=5.0)
# Ingest: the offline country database (apps/core/geo.py): a geoip2fast data file, by absolute path or
# by name inside the installed package; empty turns country lookup off. docs/fleet-data.md says how to update it.
# The default is the bundled file with IPv4 and IPv6 networks (the package's own default has IPv4 only).
TELEMETRY_COUNTRY_DATABASE = env.str("TELEMETRY_COUNTRY_DATABASE", default="geoip2fast-ipv6.dat.gz")
TELEMETRY_REPORT_FROM_EMAIL = env.str("TELEMETRY_REPORT_FROM_EMAIL", default="telemetry@localhost")
# Signed answers (docs/signed-answers.md): the Ed25519 key that signs ingest answers, public keys
# published beside it during a rotation, and where a local key is kept when none is configured.
TELEMETRY_SIGNING_KEY = env.str("TELEMETRY_SIGNING_KEY", default="")
TELEMETRY_SIGNING_PUBLIC_KEYS = env.list("TELEMETRY_SIGNING_PUBLIC_KEYS", default=[])
TELEMETRY_SIGNING_KEY_FILE = env.str("TELEMETRY_SIGNING_KEY_FILE", default=str(VAR_DIR / "signing-key"))
# Alerts: links in notifications point here; a receiver that does not answer in time is one failed attempt.
TELEMETRY_BASE_URL = env.str("TELEMETRY_BASE_URL", default="http://localhost:8000")
TELEMETRY_ALERT_HTTP_TIMEOUT = env.float("TELEMETRY_ALERT_HTTP_TIMEOUT", default=10.0)

INSTALLED_APPS = [
    # The admin site with throttled login and an optional second factor (apps/accounts/admin_site.py).
    "apps.accounts.admin_apps.StaffAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "apps.core",
    "apps.accounts",
    "apps.products",
    "apps.licenses",
    "apps.instances",
    "apps.events",
    "apps.ingest",
    "apps.rollups",
    "apps.alerts",
    "apps.staff_api",
    "apps.simulator",  # simulate_fleet: a demo fleet through the real ingest path
]

MIDDLEWARE = [
    # First: ingest paths leave the chain here (apps/ingest/middleware.py says why).
    "apps.ingest.middleware.IngestFastPathMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After a staff member's write, their next reads stay on the primary (apps/core/db_router.py).
    "apps.core.db_router.PrimaryPinMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # Last, as axes asks: it turns a locked-out login into its lockout answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "telemetry_site.urls"
WSGI_APPLICATION = "telemetry_site.wsgi.application"
ASGI_APPLICATION = "telemetry_site.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Seconds one statement may run in web processes (ingest, staff API, admin) and in Celery workers,
# whose jobs scan whole days of events. telemetry_site/celery.py switches a worker to the job value.
DATABASE_STATEMENT_TIMEOUT = env.int("DATABASE_STATEMENT_TIMEOUT", default=15)
JOB_DATABASE_STATEMENT_TIMEOUT = env.int("JOB_DATABASE_STATEMENT_TIMEOUT", default=480)
# A statement that has waited this much longer than its timeout is on a stuck server: its
# connection is cut (apps/core/db_health.py) and the request answers 503.
DATABASE_STUCK_GRACE = env.int("DATABASE_STUCK_GRACE", default=5)


def database_session_options(statement_timeout: int) -> str:
    """libpq `options`: settings the server applies to every session of this process."""
    idle = env.int("DATABASE_IDLE_IN_TRANSACTION_TIMEOUT", default=60)
    return f"-c statement_timeout={statement_timeout * 1000} -c idle_in_transaction_session_timeout={idle * 1000}"


def postgres_connection_settings(database: dict, *, pooled: bool = False) -> None:
    """What every PostgreSQL alias (the primary and the read replica) gets: persistent connections and bounded waits.

    `pooled`: the alias names a PgBouncer in transaction mode (DATABASE_POOLER)."""
    # Persistent connections: a new connection per ping costs more than the ping itself.
    database["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=600)
    database["CONN_HEALTH_CHECKS"] = True
    database.setdefault("OPTIONS", {})
    # Bounded waits (docs/operations.md): connecting gives up after connect_timeout; TCP keepalives
    # notice a peer that vanished (host down, network cut) within about a minute; the server ends
    # a statement after statement_timeout and a forgotten open transaction after
    # idle_in_transaction_session_timeout. A server that is stuck (stopped, not dead) enforces
    # nothing: apps/core/db_health.py cuts such a wait from this side.
    # Values given in the URL's query string win; its own `options` come after ours, so they win too.
    options = database["OPTIONS"]
    for name, value in {"connect_timeout": env.int("DATABASE_CONNECT_TIMEOUT", default=5), "keepalives": 1,
                        "keepalives_idle": env.int("DATABASE_KEEPALIVES_IDLE", default=30),
                        "keepalives_interval": 10, "keepalives_count": 3}.items():
        options.setdefault(name, value)
    if not pooled:
        options["options"] = " ".join(filter(None, [database_session_options(DATABASE_STATEMENT_TIMEOUT),
                                                    options.get("options")]))
    # One way to run SQL in every environment: Django's cursor with server-side binding (parameters
    # travel apart from the statement instead of being quoted into it in Python). psycopg prepares a
    # statement on the server after DATABASE_PREPARE_THRESHOLD executions, which saves PostgreSQL
    # planning every heartbeat's statements again (docs/performance.md). A PgBouncer before 1.21 in
    # transaction mode cannot keep prepared statements: there set it to `none` (or empty).
    options.setdefault("server_side_binding", env.bool("DATABASE_SERVER_SIDE_BINDING", default=True))
    threshold = env.str("DATABASE_PREPARE_THRESHOLD", default="5").strip().lower()
    options.setdefault("prepare_threshold", None if threshold in ("", "none") else int(threshold))
    if pooled:
        # Transaction pooling: consecutive transactions of one connection may run in different
        # server sessions, so nothing may live in a session. Named prepared statements and
        # server-side cursors do; PgBouncer 1.18 refuses the `options` startup parameter, so the
        # timeouts come from its database entries' connect_query (apps/core/db_health.py checks them).
        options["prepare_threshold"] = None
        database["DISABLE_SERVER_SIDE_CURSORS"] = True


DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'db.sqlite3'}")}
# DATABASE_URL names a PgBouncer in transaction mode (docs/scaling.md "PgBouncer"): "pgbouncer", else empty.
DATABASE_POOLER = env.str("DATABASE_POOLER", default="")
if DATABASE_POOLER not in ("", "pgbouncer"):
    raise ImproperlyConfigured(f"DATABASE_POOLER must be empty or 'pgbouncer', not {DATABASE_POOLER!r}")
# Through PgBouncer the worker's sessions come from a second database entry of PgBouncer whose
# connect_query sets the job statement timeout (empty: DATABASE_URL's database name + "_jobs").
DATABASE_POOLER_JOB_NAME = env.str("DATABASE_POOLER_JOB_NAME", default="")
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL and IMMEDIATE let web, worker and beat share the file without "database is locked".
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
        "transaction_mode": "IMMEDIATE",
    }
else:
    postgres_connection_settings(DATABASES["default"], pooled=bool(DATABASE_POOLER))
# A read replica (docs/scaling.md): PostgreSQL streaming replication of the primary. The router
# (apps/core/db_router.py) sends only the reads of views marked with `reads_from_replica` there;
# everything else, and every write, stays on the primary.
DATABASE_REPLICA_URL = env.str("DATABASE_REPLICA_URL", default="")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = env.db_url_config(DATABASE_REPLICA_URL)
    if DATABASES["replica"]["ENGINE"] != "django.db.backends.postgresql":
        raise ImproperlyConfigured("DATABASE_REPLICA_URL must name a PostgreSQL streaming replica (postgres://...).")
    postgres_connection_settings(DATABASES["replica"])
DATABASE_ROUTERS = ["apps.core.db_router.ReplicaRouter"]
# Reads leave the replica for the primary while its lag is above this many seconds.
DATABASE_REPLICA_MAX_LAG = env.float("DATABASE_REPLICA_MAX_LAG", default=30.0)
# Seconds a process reuses what it learnt about the replica (reachable, lag) before asking again.
DATABASE_REPLICA_CHECK_SECONDS = env.float("DATABASE_REPLICA_CHECK_SECONDS", default=5.0)
# After a staff member's write, their reads stay on the primary this long plus the replica's lag
# at the time (read-your-writes; a signed cookie says until when).
DATABASE_REPLICA_PIN_SECONDS = env.float("DATABASE_REPLICA_PIN_SECONDS", default=5.0)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL},
        # The ingest rate counters, shared by every process and machine using this Redis. Short
        # timeouts: a Redis that is down or hangs must cost an ingest request at most this, once
        # (the throttles then leave it alone for TELEMETRY_INGEST_THROTTLE_BACKOFF_SECONDS).
        "throttle": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": env.str("TELEMETRY_THROTTLE_REDIS_URL", default=REDIS_URL),
            "OPTIONS": {"socket_connect_timeout": env.float("TELEMETRY_THROTTLE_REDIS_TIMEOUT", default=0.2),
                        "socket_timeout": env.float("TELEMETRY_THROTTLE_REDIS_TIMEOUT", default=0.2)},
        },
    }
    CELERY_BROKER_URL = REDIS_URL
    # A task whose worker died unannounced (SIGKILL, a lost host) comes back after this: sized to
    # the longest task (CELERY_TASK_TIME_LIMIT) plus a margin, so a running task is never handed out twice.
    # kombu looks for such tasks every unacked_restore_interval times unacked_restore_throttle seconds
    # (10 times 10 by default): every 10 s here, one cheap sorted-set read. Socket timeouts keep a
    # publish (the admin's "run selected tasks") from waiting forever on a Redis that hangs.
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=900),
        "unacked_restore_interval": 10,
        "unacked_restore_throttle": 1,
        "socket_connect_timeout": 5,
        "socket_timeout": 30,
        "socket_keepalive": True,
    }
else:
    # No "throttle" cache: the ingest rate counters are kept per process, each with its own limits.
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    # kombu's filesystem transport: a broker that needs no server, shared by web, worker and beat.
    _broker_dir = VAR_DIR / "celery-broker"
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        # Without it kombu keeps its exchange tables in ./control, wherever the worker started.
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=CELERY_BROKER_URL)
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
# Jobs that survive kills (docs/operations.md): a task is acknowledged only when it has finished,
# and a task whose pool process died (SIGKILL, out of memory) is handed back to the broker at once
# instead of being acknowledged as failed. Every task is idempotent, so running one again is safe.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
# On a lost broker connection, tasks already running are cancelled: their messages go back to the
# queue anyway, and running them twice at once would only waste the database's time.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Hard limit below the broker's visibility timeout, so a task is never redelivered while it still
# runs. The longest task is one chunk of a rollup backfill (apps/rollups/tasks.py) or a retention pass.
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=600)
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - min(60, CELERY_TASK_TIME_LIMIT // 10)
# Exactly one beat sends tasks however many are started (apps/core/beat.py): the others wait,
# and one of them takes over within BEAT_LEASE_SECONDS of the holder's death.
CELERY_BEAT_SCHEDULER = "apps.core.beat:LeaseScheduler"
BEAT_LEASE_SECONDS = env.int("BEAT_LEASE_SECONDS", default=30)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Staff access: login lockout, second factor, Content-Security-Policy (docs/security.md) ------------
AUTHENTICATION_BACKENDS = [
    # First: refuses a locked-out username or address before any password is checked.
    "apps.accounts.backends.LoginLockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.25)
# Either condition locks: a username guessed from anywhere, or an address trying many usernames.
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "admin/login_locked.html"
# What axes stores and logs as "username" and "ip_address" are keyed hashes (apps/accounts/client.py).
AXES_USERNAME_CALLABLE = "apps.accounts.client.username_key"
AXES_CLIENT_IP_CALLABLE = "apps.accounts.client.address_key"
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "otp_token", "otp_device", "csrfmiddlewaretoken"]
# Successful logins are in the admin's own log; a second table of them would keep user agents for nothing.
AXES_DISABLE_ACCESS_LOG = True
# Proxies in front of the server that append to X-Forwarded-For (0: REMOTE_ADDR is the client).
AXES_IPWARE_PROXY_COUNT = env.int("TELEMETRY_PROXY_COUNT", default=0) or None
AXES_IPWARE_META_PRECEDENCE_ORDER = ["HTTP_X_FORWARDED_FOR", "REMOTE_ADDR"] if AXES_IPWARE_PROXY_COUNT else [
    "REMOTE_ADDR"]
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Telemetry")
# Staff API: wrong tokens allowed per client address before every token attempt from it gets 429.
TELEMETRY_TOKEN_FAILURE_RATE = env.str("TELEMETRY_TOKEN_FAILURE_RATE", default="10/min")
# Everything the admin, the fleet dashboard (Chart.js, json_script data) and Swagger UI load is
# served from this origin; nothing inline is allowed to run.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        # The admin and Swagger UI set style attributes in their markup; styles cannot run code.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        **({"report-uri": [env.str("CSP_REPORT_URI")]} if env.str("CSP_REPORT_URI", default="") else {}),
    },
}
# --- end of staff access ---------------------------------------------------------------------------

LANGUAGE_CODE = "en-us"
# The admin shows one date format, ISO with the zone said (telemetry_site/formats/en/formats.py).
FORMAT_MODULE_PATH = ["telemetry_site.formats"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = TELEMETRY_REPORT_FROM_EMAIL

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # DRF's token and session authentication, with wrong tokens throttled and second factors honoured.
        "apps.staff_api.authentication.ThrottledTokenAuthentication",
        "apps.staff_api.authentication.VerifiedSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAdminUser"],
    "DEFAULT_PAGINATION_CLASS": "apps.core.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "EXCEPTION_HANDLER": "apps.core.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Telemetry platform API",
    "DESCRIPTION": "Ingest endpoints for product instances and the staff REST API.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Staff API: two models have a `status` (and a `kind`) with different choices; name each enum.
    "ENUM_NAME_OVERRIDES": {
        "InstanceStatusEnum": "apps.instances.models.InstanceStatus",
        "InstallationStatusEnum": "apps.instances.models.Installation.Status",
        "EventKindEnum": "apps.events.models.EventKind",
        "ReportKindEnum": "apps.rollups.models.Report.Kind",
    },
    "POSTPROCESSING_HOOKS": ["apps.ingest.schema.enums_outside_ingest"],
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # UTC time and logger name on every line: outages are read by lining logs up with each other.
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
                   "django.server": {"()": "django.utils.log.ServerFormatter",
                                     "format": "[{server_time}] {message}", "style": "{"}},
    # No client address, e-mail or ingest key in any log line or admin e-mail (apps/core/log_redaction.py):
    # Django's own handlers are declared again here, each with the filter.
    "filters": {"redact": {"()": "apps.core.log_redaction.RedactPersonalData"},
                "require_debug_false": {"()": "django.utils.log.RequireDebugFalse"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact"]},
                 "django.server": {"class": "logging.StreamHandler", "formatter": "django.server",
                                   "filters": ["redact"]},
                 "mail_admins": {"class": "django.utils.log.AdminEmailHandler", "level": "ERROR",
                                 "filters": ["require_debug_false", "redact"]}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {"django": {"handlers": ["mail_admins"], "level": "INFO"},
                "django.db.backends": {"level": "INFO"},
                "django.server": {"handlers": ["django.server"], "level": "INFO", "propagate": False}},
}
