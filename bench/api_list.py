"""Benchmark: filtered instance lists of the staff API over 100,000 instances on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/telemetry .venv/bin/python bench/api_list.py

Works in a throwaway database (test_<name>, created and dropped here), never in the real one.
Builds the fleet set-based (INSERT ... SELECT generate_series), then for each filter times the
request through the real view (token auth, filters, pagination, serializers) and the very SQL that
request ran, replayed raw, in the same run; prints both, their ratio, and the EXPLAIN of the page
query so index use is visible.
"""

import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "telemetry_site.settings.test")

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext, setup_test_environment  # noqa: E402
from rest_framework.authtoken.models import Token  # noqa: E402

from apps.products.models import Product  # noqa: E402

FLEET = int(os.environ.get("BENCH_INSTANCES", "100000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))
CASES = [
    ("product+status", "product=appsmith&status=active"),
    ("product+version", "product=hasura&version=v1.20"),
    ("search prefix", "search=inst-0000123"),
    ("last_seen window", "product=flowfuse&last_seen_after=2024-01-05T00:00:00Z"
                         "&last_seen_before=2024-01-06T00:00:00Z"),
    ("status+collection", "status=stale&collection=heartbeat"),
]

FLEET_SQL = """
INSERT INTO instances_instance (created_at, updated_at, product_id, instance_id, first_seen, last_seen, version,
    edition, os, arch, context, status, collection, metrics, ip_hash, heartbeat_count, dropped_count)
SELECT now(), now(), (ARRAY[%(a)s, %(b)s, %(c)s])[1 + g %% 3], 'inst-' || lpad(g::text, 8, '0'),
       timestamptz '2023-06-01' + (g %% 200) * interval '1 day',
       timestamptz '2024-01-10' - (g * 7 %% 864000) * interval '1 second',
       'v1.' || (g %% 40), (ARRAY['ce', 'ee', 'business'])[1 + g %% 3 ], (ARRAY['linux', 'darwin'])[1 + g %% 2],
       'x86_64', '', (ARRAY['new', 'active', 'active', 'active', 'stale', 'dead'])[1 + g %% 6],
       (ARRAY['full', 'full', 'full', 'heartbeat', 'off'])[1 + g %% 5], '{}'::jsonb, '', g %% 1000, 0
FROM generate_series(1, %(n)s) AS g
"""


def build_fleet() -> str:
    products = [Product.objects.create(slug=slug, name=slug.title()) for slug in ("appsmith", "hasura", "flowfuse")]
    user = get_user_model().objects.create_user("bench", is_staff=True)
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(FLEET_SQL, {"a": products[0].pk, "b": products[1].pk, "c": products[2].pk, "n": FLEET})
        # What autovacuum would have done by the time staff list a fleet this size.
        cursor.execute("VACUUM ANALYZE instances_instance")
    print(f"built {FLEET:,} instances set-based in {time.perf_counter() - started:.2f} s")
    return Token.objects.create(user=user).key


def median_seconds(run: Callable[[], None]) -> float:
    run()  # warm caches and the connection
    samples = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def bench_case(client: Client, token: str, label: str, query: str) -> None:
    url = f"/api/v1/instances/?{query}"

    def through_view() -> None:
        response = client.get(url, HTTP_AUTHORIZATION=f"Token {token}")
        assert response.status_code == 200, response.content

    with CaptureQueriesContext(connection) as captured:
        through_view()
    statements = [q["sql"] for q in captured.captured_queries]

    def raw_sql() -> None:
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
                cursor.fetchall()

    view, raw = median_seconds(through_view), median_seconds(raw_sql)
    count = client.get(url, HTTP_AUTHORIZATION=f"Token {token}").json()["count"]
    print(f"\n== {label}: GET {url}  ({count:,} matches, {len(statements)} queries)")
    print(f"   view {view * 1000:7.2f} ms   raw SQL {raw * 1000:7.2f} ms   ratio view/raw {view / raw:5.2f}")
    for sql in statements:
        if 'FROM "instances_instance"' in sql:
            print_plan("count" if "COUNT(" in sql else "page", sql)


def print_plan(label: str, sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + sql)
        plan = [row[0] for row in cursor.fetchall()]
    print(f"   plan of the {label} query:")
    for line in plan:
        print("     " + line)
    uses_index = any("Index" in line for line in plan) and not any("Seq Scan on instances_instance" in line
                                                                   for line in plan)
    print(f"   -> {'uses an index' if uses_index else 'NO INDEX'}")


def main() -> None:
    if connection.vendor != "postgresql":
        sys.exit("bench/api_list.py needs PostgreSQL: set DATABASE_URL=postgres://...")
    setup_test_environment()
    real_name = connection.settings_dict["NAME"]
    test_name = connection.creation.create_test_db(verbosity=0, autoclobber=True, keepdb=False)
    print(f"throwaway database {test_name} (the real {real_name} is not touched)")
    try:
        token = build_fleet()
        client = Client()
        for label, query in CASES:
            bench_case(client, token, label, query)
    finally:
        connection.creation.destroy_test_db(real_name, verbosity=0)


if __name__ == "__main__":
    main()
