"""Settings of the benchmark server: the production settings plus one no-database view (limit 1).

Only `bench/ingest.py` uses this module; the product's own URLs never contain the benchmark view.
"""

from telemetry_site.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
# Limit 1 is the smallest Django view (CommonMiddleware only), not one behind the project's stack.
MIDDLEWARE = ["bench.middleware.SmallestViewMiddleware", *MIDDLEWARE]  # noqa: F405

# Lets bench/ingest.py find this server's PostgreSQL backends and count their CPU time.
DATABASES["default"].setdefault("OPTIONS", {})["application_name"] = "bench-ingest-server"  # noqa: F405
