"""Settings of the benchmark server: the production settings plus one no-database view (limit 1).

Only `bench/ingest.py` uses this module; the product's own URLs never contain the benchmark view.
"""

from telemetry_site.settings.production import *  # noqa: F403

ROOT_URLCONF = "bench.urls"
