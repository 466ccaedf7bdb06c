"""Hasura GraphQL Engine: its own JSON, posted as-is to /api/v1/ingest/hasura (seeds/002).

The server ping (with its timestamp) is the daily heartbeat. Enterprise servers also send Enterprise
server, data-source and usage-metrics telemetry carrying their licence (license_jti) with each ping.
Those payloads and Console runtime errors have no time of their own: the replay adds the `timestamp`
it sends them at, so a history lands on its days and a second run finds them already stored.
CLI runs carry a timestamp.
"""

import random
from datetime import datetime, timedelta
from typing import Any

from ..fleet import HASURA, Record
from ..plan import InstancePlan, uid

SLUG = "hasura"
NAME = "Hasura GraphQL Engine"
HEARTBEAT_INTERVAL = 24 * 3600
RELEASES = ["v2.36.0", "v2.38.1", "v2.40.0", "v2.42.0", "v2.44.0"]
PRODUCT_DEFAULTS: dict[str, int] = {}
NOTICE = None
CLI_COMMANDS = ["hasura version", "hasura migrate apply", "hasura metadata apply", "hasura console", "hasura init"]


def _iso(when: datetime) -> str:
    return when.isoformat(timespec="microseconds")


def _server(rng: random.Random, plan: InstancePlan, when: datetime, seq: int) -> dict[str, Any]:
    tables = plan.extra["tables"] + seq // 7
    return {
        "id": seq, "timestamp": _iso(when), "db_uid": plan.extra["db_uid"], "instance_uid": plan.uid,
        "version": plan.version_at(when), "ci": plan.extra["ci"],
        "metrics": {"views": tables // 4, "tables": tables, "functions": rng.randrange(0, 4),
                    "permissions": {"roles": 2, "delete": 1, "insert": 3, "select": tables, "update": 2},
                    "relationships": {"auto": tables // 2, "manual": 1}, "event_triggers": rng.randrange(0, 3),
                    "remote_schemas": rng.randrange(0, 2)},
    }


def _enterprise(rng: random.Random, plan: InstancePlan, when: datetime) -> list[dict[str, Any]]:
    common = {"license_jti": plan.extra["license"], "client_id": None, "metadata_db_uid": plan.extra["db_uid"],
              "instance_uid": plan.uid, "sample_uid": uid(rng), "hasura_version": plan.version_at(when)}
    server = {**common, "metrics": {
        "api_limits_enabled": True, "api_limits_roles_with_limits": 1, "prometheus_endpoint_enabled": True,
        "otel_enabled": rng.random() < 0.5, "caching_enabled": rng.random() < 0.5, "remote_schemas": 0,
        "actions_synchronous": rng.randrange(0, 5), "resource_cpu": 2048, "resource_memory": 4096,
        "resource_checker_error_code": "CPU_MEMORY_INCONCLUSIVE", "jwt_secrets_configured": 1,
        "admin_secrets_configured": 1}}
    source = {**common, "sample_uid": uid(rng), "metrics": {
        "backend_type": rng.choice(["postgres", "mssql", "bigquery"]), "read_replicas": 0,
        "health_check_enabled": False, "tables": plan.extra["tables"], "views": 2, "enum_tables": 0,
        "relationships_manual": 1, "relationships_auto": 4, "permissions_select": 5, "permissions_insert": 2,
        "permissions_update": 2, "permissions_delete": 1, "permissions_roles": 2, "event_triggers": 0,
        "functions": 1, "native_queries": 0, "query_tags_enabled": False, "connection_templates_enabled": False}}
    usage = {**common, "sample_uid": uid(rng), "metrics": {
        "hasura_graphql_requests_total": [{"operation_type": "query", "response_status": "success",
                                           "value": rng.randrange(1000, 90000)},
                                          {"operation_type": "query", "response_status": "failed",
                                           "value": rng.randrange(0, 50)}],
        "hasura_active_subscriptions": [{"value": rng.randrange(0, 40)}],
        "hasura_http_connections": [{"value": rng.randrange(1, 30)}],
        "hasura_postgres_connections": [{"role": "primary", "source_name": "default", "value": 5}],
        "hasura_websocket_connections": [{"value": rng.randrange(0, 20)}]}}
    return [server, source, usage]


def _cli(rng: random.Random, plan: InstancePlan, when: datetime, seq: int) -> dict[str, Any]:
    return {"id": seq, "timestamp": _iso(when), "uuid": plan.extra["cli_uuid"], "execution_id": uid(rng),
            "version": "v2.40.0", "command": rng.choice(CLI_COMMANDS), "is_error": rng.random() < 0.1,
            "os_platform": rng.choice(["linux", "darwin"]), "os_arch": "amd64", "server_uuid": plan.uid,
            "server_version": plan.version_at(when), "payload": None}


def _console_error(rng: random.Random, plan: InstancePlan, when: datetime) -> dict[str, Any]:
    return {"server_version": plan.version_at(when), "event_type": "Main/RUN_TIME_ERROR",
            "url": "/data/schema/SCHEMA_NAME/tables/TABLE_NAME/modify", "console_mode": "server",
            "cli_uuid": plan.extra["cli_uuid"], "server_uuid": plan.uid,
            "data": {"message": "Uncaught TypeError: something is not a function", "stack": [" at main.js:1:3"]}}


def records(*, rng: random.Random, plans: list[InstancePlan], window_start: datetime,
            now: datetime) -> list[Record]:
    out: list[Record] = []
    interval = timedelta(seconds=HEARTBEAT_INTERVAL)
    for plan in plans:
        enterprise = rng.random() < 0.4
        plan.extra.update(db_uid=uid(rng), cli_uuid=uid(rng), tables=rng.randrange(2, 80),
                          ci=rng.choice(["GITHUB_ACTIONS", "TRAVIS"]) if rng.random() < 0.1 else None,
                          license=uid(rng) if enterprise else None)
        for seq, when in enumerate([plan.start, *plan.heartbeat_times(interval, window_start, now)], start=1):
            out.append(Record(when, HASURA, _server(rng, plan, when, seq)))
            # Enterprise and Console payloads carry no time of their own; the replay says when they were sent.
            if enterprise:
                out += [Record(when, HASURA, {**payload, "timestamp": _iso(when)})
                        for payload in _enterprise(rng, plan, when)]
            if rng.random() < 0.05:
                out.append(Record(when, HASURA, {**_console_error(rng, plan, when), "timestamp": _iso(when)}))
            if rng.random() < 0.3:
                at = min(when + timedelta(hours=rng.uniform(0, 20)), now)
                out.append(Record(at, HASURA, _cli(rng, plan, at, seq)))
    return out
