"""On PostgreSQL, filtered instance lists are served by indexes, not by scanning the fleet.

The plan is read for the very SQL the real view runs (captured from a request), over a fleet built
set-based and ANALYZEd so the planner sees realistic statistics. No timings here: bench/api_list.py
measures those at 100,000 instances.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

FLEET = 30_000

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="query plans are PostgreSQL's")


@pytest.fixture
def fleet(make_product) -> None:
    products = [make_product(slug) for slug in ("appsmith", "hasura", "flowfuse")]
    with connection.cursor() as cursor:
        cursor.execute("""
            INSERT INTO instances_instance (created_at, updated_at, product_id, instance_id, first_seen, last_seen,
                version, edition, os, arch, context, status, collection, metrics, ip_hash, heartbeat_count,
                dropped_count, country)
            SELECT now(), now(), (ARRAY[%s, %s, %s])[1 + g %% 3], 'inst-' || lpad(g::text, 8, '0'),
                   timestamptz '2023-06-01', timestamptz '2024-01-10' - (g * 7 %% 864000) * interval '1 second',
                   'v1.' || (g %% 40), 'ce', 'linux', 'x86_64', '',
                   (ARRAY['new', 'active', 'active', 'active', 'stale', 'dead'])[1 + g %% 6],
                   (ARRAY['full', 'full', 'full', 'heartbeat', 'off'])[1 + g %% 5], '{}'::jsonb, '', 0, 0,
                   (ARRAY['DE', 'US', 'US', 'FR', 'BR', 'IN', 'JP', ''])[1 + g %% 8]
            FROM generate_series(1, %s) AS g""", [p.pk for p in products] + [FLEET])
        cursor.execute("ANALYZE instances_instance")


def plans_of_list_request(api: APIClient, params: dict) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = api.get("/api/v1/instances/", params)
    assert response.status_code == 200 and response.json()["count"] > 0
    plans = []
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            if 'FROM "instances_instance"' in query["sql"]:
                cursor.execute("EXPLAIN " + query["sql"])
                plans.append("\n".join(row[0] for row in cursor.fetchall()))
    assert len(plans) == 2  # the count and the page
    return plans


FILTERED_LISTS = [
    {"product": "appsmith", "status": "active"},
    {"product": "hasura", "version": "v1.20"},
    {"search": "inst-0000123"},
    {"product": "flowfuse", "last_seen_after": "2024-01-09T00:00:00Z", "last_seen_before": "2024-01-09T06:00:00Z"},
    {"status": "dead", "collection": "off"},
    {"product": "hasura", "country": "FR"},
]


@pytest.mark.django_db
def test_filtered_instance_lists_use_an_index(api: APIClient, fleet: None) -> None:
    # One test over all filters: the fleet is built once.
    for params in FILTERED_LISTS:
        for plan in plans_of_list_request(api, params):
            assert "Seq Scan on instances_instance" not in plan, (params, plan)
            assert "Index" in plan, (params, plan)
    # The slug is resolved in a scalar subquery, so `product_id = $0` can be an index condition.
    count_plan, _ = plans_of_list_request(api, {"product": "hasura", "version": "v1.3"})
    assert "instance_product_version" in count_plan, count_plan
