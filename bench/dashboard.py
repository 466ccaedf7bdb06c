"""How fast the fleet dashboard answers with a year of rollups for 100,000 instances.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scratch .venv/bin/python bench/dashboard.py

Builds (once; reused on the next run) a product with 100,000 instances and 365 days of DailyRollup
and DailyBreakdown rows (30 versions, 40 event names, editions, systems, licence types per day),
then times the dashboard page for 30 days and for a year through the full Django stack, next to a
baseline admin page in the same run, and prints the ratios and the queries the page ran.
Goal: the one-year dashboard under 300 ms on PostgreSQL. Use a scratch database: it writes rows.
"""

import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "telemetry_site.settings.base")
os.environ.setdefault("DEBUG", "false")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from apps.instances.models import Instance  # noqa: E402
from apps.products.models import Product  # noqa: E402
from apps.rollups.models import DailyBreakdown, DailyRollup  # noqa: E402

SLUG = "bench-dashboard"
INSTANCES = int(os.environ.get("BENCH_INSTANCES", 100_000))
DAYS = 365
STATUSES = ["active"] * 6 + ["new", "stale", "dead"]


def build(product: Product) -> None:
    now = timezone.now()
    chunk = 10_000
    for start in range(0, INSTANCES, chunk):
        Instance.objects.bulk_create(
            Instance(product=product, instance_id=f"bench-{n}", first_seen=now - timedelta(days=n % 400),
                     last_seen=now - timedelta(hours=n % 900), version=f"v1.{n % 30}.0",
                     edition=["CE", "EE"][n % 2], os=["linux", "darwin", "windows"][n % 3],
                     status=STATUSES[n % len(STATUSES)])
            for n in range(start, min(start + chunk, INSTANCES)))
    today = now.date()
    DailyRollup.objects.bulk_create(
        DailyRollup(product=product, day=today - timedelta(days=d), active_instances=INSTANCES * 6 // 9,
                    new_instances=300, stale_instances=120, dead_instances=60, resurrected_instances=20,
                    heartbeats=INSTANCES * 10, events=INSTANCES * 3, installs_started=400, installs_succeeded=330,
                    installs_failed=70, installs_support=12, computed_at=now) for d in range(DAYS))
    dims = ([("version", f"v1.{v}.0") for v in range(30)] + [("event", f"event_{e}") for e in range(40)]
            + [("edition", "CE"), ("edition", "EE"), ("os", "linux"), ("os", "darwin"), ("os", "windows")]
            + [("license_type", t) for t in ("", "DEV", "TEAM", "ENTERPRISE")])
    rows = [DailyBreakdown(product=product, day=today - timedelta(days=d), dimension=dim, key=key,
                           count=INSTANCES // 40 + i, instances=INSTANCES // 50 + i)
            for d in range(DAYS) for i, (dim, key) in enumerate(dims)]
    DailyBreakdown.objects.bulk_create(rows, batch_size=5000)


def timed(client: Client, url: str, runs: int = 7) -> tuple[float, int]:
    client.get(url)  # warm up caches and the connection
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        samples.append(time.perf_counter() - started)
        assert response.status_code == 200, (url, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        client.get(url)
    return statistics.median(samples) * 1000, len(queries)


def main() -> None:
    call_command("migrate", verbosity=0)
    product, created = Product.objects.get_or_create(slug=SLUG, defaults={"name": "Bench dashboard"})
    if created or not Instance.objects.filter(product=product).exists():
        started = time.perf_counter()
        build(product)
        print(f"built {INSTANCES} instances and {DAYS} days of rollups in {time.perf_counter() - started:.1f}s")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    user, _ = get_user_model().objects.get_or_create(username="bench-admin", defaults={"is_staff": True,
                                                                                       "is_superuser": True})
    client = Client()
    client.force_login(user)
    baseline, base_queries = timed(client, "/admin/password_change/")
    print(f"database: {connection.vendor}; {INSTANCES} instances, {DAYS} days of rollups")
    print(f"baseline admin page      {baseline:7.1f} ms  {base_queries:2d} queries")
    for label, query in (("dashboard 30 days", ""), ("dashboard 1 year", "?range=1y")):
        ms, queries = timed(client, f"/admin/fleet/{SLUG}/{query}")
        verdict = "ok" if ms < 300 else "OVER the 300 ms goal"
        print(f"{label:24s} {ms:7.1f} ms  {queries:2d} queries  {ms / baseline:5.1f}x baseline  ({verdict})")
    instance = Instance.objects.filter(product=product).order_by("pk").first()
    assert instance is not None, "the benchmark fleet is built above"
    ms, queries = timed(client, f"/admin/instances/instance/{instance.pk}/change/")
    print(f"{'instance page':24s} {ms:7.1f} ms  {queries:2d} queries  {ms / baseline:5.1f}x baseline")
    for label, url in (("instance list", f"/admin/instances/instance/?product__id__exact={product.pk}"),
                       ("instance search (prefix)", "/admin/instances/instance/?q=bench-4242"),
                       ("event list", f"/admin/events/event/?product__id__exact={product.pk}")):
        ms, queries = timed(client, url)
        print(f"{label:24s} {ms:7.1f} ms  {queries:2d} queries  {ms / baseline:5.1f}x baseline")


if __name__ == "__main__":
    main()
