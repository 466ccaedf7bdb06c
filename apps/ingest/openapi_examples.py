"""Request examples for `/api/docs/`: each real sender's shape, as its code posts it.

Kept apart from the schema so the examples can follow the products without touching the paths;
`tests/ingest/test_openapi.py` posts every one through its endpoint.
"""

from typing import Any

Example = dict[str, Any]

HASURA: dict[str, Example] = {
    "server_metrics_v2": {"summary": "Hasura v2 server, default source (one payload per data source)", "value": {
        "topic": "server_metrics_v2",
        "data": {
            "metadata_db_uid": "5f3a2c1e-8d47-4b9a-9f0e-1c2d3e4f5a6b",
            "instance_uid": "0c9e5b7a-3f2d-4e81-a6c4-7d8e9f0a1b2c", "hasura_version": "v2.36.0", "ci": None,
            "source_metadata": {"db_uid": "5f3a2c1e-8d47-4b9a-9f0e-1c2d3e4f5a6b", "backend_type": "postgres",
                                "db_kind": "postgres", "db_version": "150004"},
            "metrics": {"tables": 12, "views": 2, "enum_tables": 1, "relationships": {"manual": 1, "auto": 9},
                        "permissions": {"select": 14, "insert": 5, "update": 4, "delete": 2, "roles": 3},
                        "event_triggers": 2, "functions": 1, "remote_schemas": 1,
                        "service_timings": {"collectionTag": 1704790800, "serviceTimingMetrics": [
                            {"dimensions": {"query_type": "Query", "locality": "Local", "transport": "HTTP"},
                             "bucket": 0.001, "metrics": {"time_io": 0.52, "time_tot": 1.31, "count": 412}}]},
                        "actions": {"synchronous": 2, "asynchronous": 1, "query_actions": 1,
                                    "type_relationships": 0, "custom_types": 5},
                        "native_queries": {"with_parameters": 1, "without_parameters": 2},
                        "stored_procedures": {"with_parameters": 0, "without_parameters": 0},
                        "logical_models": {"count": 3}},
            "experimental_features": ["streaming_subscriptions"]}}},
    "server_metrics_v2_test": {
        "summary": "A development build (`_test` topic): stored, context `development`, out of production counts",
        "value": {"topic": "server_metrics_v2_test", "data": {
            "metadata_db_uid": "9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d",
            "instance_uid": "d1e2f3a4-b5c6-4d7e-8f90-a1b2c3d4e5f6", "hasura_version": "v2.37.0-dev-4f1d2c9",
            "ci": "GITHUB_ACTIONS", "source_metadata": {"db_uid": None, "backend_type": "postgres",
                                                        "db_kind": "postgres", "db_version": None},
            "metrics": {"tables": 3}, "experimental_features": []}}},
    "server_v1": {"summary": "Hasura v1 server (topic `server`)", "value": {"topic": "server", "data": {
        "db_uid": "dddff371-dab2-450f-9969-235bca66dab1", "instance_uid": "6799360d-a431-40c5-9f68-24592a9f07df",
        "version": "v1.3.3", "ci": "TRAVIS", "metrics": {"tables": 2, "views": 1, "functions": 1}}}},
    "cli": {"summary": "Hasura CLI run (an event of the server it talks to)", "value": {"topic": "cli", "data": {
        "uuid": "e462ce20-42dd-40fd-9549-edfb92f80455", "server_uuid": "0c9e5b7a-3f2d-4e81-a6c4-7d8e9f0a1b2c",
        "execution_id": "ddfa9c33-0693-457d-9026-c7f456c43322", "os_platform": "linux", "os_arch": "amd64",
        "version": "v2.36.0", "server_version": "v2.36.0", "command": "hasura metadata apply", "is_error": False,
        "payload": None}}},
}

FLOWFUSE: dict[str, Example] = {
    "ping": {"summary": "FlowFuse usage ping (no key in it: post to /api/v1/ingest/flowfuse/{key})", "value": {
        "instanceId": "5db51f99-c6fb-4340-9c19-78adce58cc1b",
        "os": {"type": "Linux", "release": "6.1.0-17-amd64", "arch": "x64"},
        "env": {"nodejs": "v18.19.0", "flowforge": "2.6.1"},
        "platform": {
            "counts": {"users": 6, "teams": 5, "projects": 4, "projectsByState": {"suspended": 1}, "devices": 9,
                       "devicesByLastSeen": {"never": 2, "day": 5}, "projectSnapshots": 16,
                       "projectTemplates": 7, "projectStacks": 2, "libraryEntries": 0, "blueprints": 3,
                       "sharedLibraryEntries": 2, "teamBrokerClients": 4, "remoteBrokers": 1},
            "config": {"driver": "docker", "broker": {"enabled": True}, "fileStore": {"enabled": True},
                       "email": {"enabled": False}},
            "license": {"id": "4c105579-782b-4d53-af62-cf7fa69f6b43", "type": "EE"}}}},
}

WASP: dict[str, Example] = {
    "cli": {"summary": "Wasp CLI (PostHog capture shape, distinct_id inside properties)", "value": {
        "api_key": "<ingest key>", "event": "cli", "properties": {
            "distinct_id": "bf3fa7a8-1c11-4f82-9542-ec1a2d28786b", "project_hash": "6d7e561d62b955d1",
            "wasp_version": "0.15.0", "os": "linux", "is_build": True, "deploy_cmd_args": "fly;deploy",
            "context": "CI"}}},
    "install_script": {"summary": "Wasp installer (install.sh / install.ps1)", "value": {
        "api_key": "<ingest key>", "type": "capture", "event": "install-script:run",
        "distinct_id": "184211704887766554433221", "properties": {"os": "linux", "context": "CI"}}},
    "npm_postinstall": {"summary": "Wasp npm package postinstall", "value": {
        "api_key": "<ingest key>", "type": "capture", "event": "npm-package:postinstall",
        "distinct_id": "273101704887766554", "properties": {"os": "osx", "arch": "arm64", "context": "CI"}}},
}

SEGMENT_TRACK: dict[str, Example] = {
    "appsmith_instance_active": {"summary": "Appsmith server keep-alive (Basic auth, no messageId)", "value": {
        "userId": "65a0d2c4e1b7f94c2d3e8a10", "context": {"ip": "203.0.113.45"},
        "properties": {"instanceId": "65a0d2c4e1b7f94c2d3e8a10"}, "event": "Instance Active"}},
    "appsmith_instance_stats": {
        "summary": "Appsmith daily counts: the whole-number properties become the instance's metrics",
        "value": {"userId": "65a0d2c4e1b7f94c2d3e8a10", "context": {"ip": "203.0.113.45"},
                  "properties": {"instanceId": "65a0d2c4e1b7f94c2d3e8a10", "numOrgs": 3, "numApps": 17,
                                 "numPages": 54, "numActions": 212, "numDatasources": 9, "numUsers": 41},
                  "version": "v1.9.56", "edition": "CE", "event": "instance_stats"}},
    "appsmith_installer": {
        "summary": "Appsmith install script: text/plain, `data` instead of `properties`, the server's address as "
                   "userId (key in ?key=)",
        "value": {"userId": "198.51.100.23", "event": "Installation Started",
                  "data": {"os": "ubuntu", "platform": "docker"}}},
}

POSTHOG_CAPTURE: dict[str, Example] = {
    "wasp_cli": WASP["cli"],
    "wasp_install_script": WASP["install_script"],
    "posthog_python": {"summary": "posthog-python / posthog-js event", "value": {
        "api_key": "<ingest key>", "event": "Instance Active", "distinct_id": "ph-1",
        "uuid": "0b8e4a8e-25a4-4e6c-9b1f-2f7c7f0c2a11", "timestamp": "2024-01-10T12:00:00Z",
        "properties": {"instanceId": "ph-1", "version": "2.0"}}},
}

NATIVE: dict[str, Example] = {
    "heartbeat": {"summary": "A heartbeat: the instance answers for itself and gets the two-way answer", "value": {
        "type": "heartbeat", "instance_id": "3f9c2b1e-7a4d-4c8e-9b2f-1d0e5a6c7b8d", "version": "2.4.1",
        "edition": "CE", "os": "linux", "arch": "amd64", "metrics": {"users": 12, "projects": 4}}},
    "batch": {"summary": "A batch with the sender's clock (`sent_at` corrects skew): an install step", "value": {
        "sent_at": "2024-01-10T12:00:05Z", "batch": [
            {"type": "install", "install_id": "run-8f2d41", "step": "succeeded", "version": "2.4.1", "os": "linux",
             "timestamp": "2024-01-10T12:00:00Z", "message_id": "run-8f2d41-succeeded"}]}},
}

# analytics-python / analytics-node bodies, one per Segment call type; track is Appsmith's.
_LIBRARY = {"library": {"name": "analytics-python", "version": "2.3.2"}}
SEGMENT: dict[str, dict[str, Example]] = {
    "track": SEGMENT_TRACK,
    "identify": {"identify": {"summary": "analytics-python identify", "value": {
        "type": "identify", "userId": "65a0d2c4e1b7f94c2d3e8a10", "traits": {"plan": "business"},
        "messageId": "5d7c4a9e-1b2f-4e3d-8c6a-0f9e8d7c6b5a", "timestamp": "2024-01-10T12:00:00Z",
        "context": _LIBRARY}}},
    "page": {"page": {"summary": "analytics.js page view of an admin console", "value": {
        "type": "page", "anonymousId": "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d", "name": "Settings",
        "properties": {"path": "/settings"}, "messageId": "9e8d7c6b-5a4f-4e3d-9c2b-1a0f9e8d7c6b",
        "timestamp": "2024-01-10T12:00:00Z"}}},
    "screen": {"screen": {"summary": "analytics-react-native screen", "value": {
        "type": "screen", "userId": "65a0d2c4e1b7f94c2d3e8a10", "name": "Dashboard",
        "messageId": "1c2d3e4f-5a6b-4c7d-8e9f-0a1b2c3d4e5f", "timestamp": "2024-01-10T12:00:00Z"}}},
    "group": {"group": {"summary": "analytics-python group (an organisation)", "value": {
        "type": "group", "userId": "65a0d2c4e1b7f94c2d3e8a10", "groupId": "org-42", "traits": {"seats": 25},
        "messageId": "2d3e4f5a-6b7c-4d8e-9f0a-1b2c3d4e5f6a", "timestamp": "2024-01-10T12:00:00Z",
        "context": _LIBRARY}}},
    "alias": {"alias": {"summary": "analytics-python alias", "value": {
        "type": "alias", "userId": "65a0d2c4e1b7f94c2d3e8a10", "previousId": "anon-7f3e",
        "messageId": "3e4f5a6b-7c8d-4e9f-8a1b-2c3d4e5f6a7b", "timestamp": "2024-01-10T12:00:00Z",
        "context": _LIBRARY}}},
}
SEGMENT_BATCH: dict[str, Example] = {
    "analytics_java_batch": {"summary": "analytics-java batch: Appsmith's keep-alive, key as `writeKey`", "value": {
        "batch": [{"type": "track", **SEGMENT_TRACK["appsmith_instance_active"]["value"],
                   "messageId": "api-2b7d9c1e-4f3a-4e8b-9d2c-7a1f0e3b5c6d", "timestamp": "2024-01-10T12:00:00Z"}],
        "sentAt": "2024-01-10T12:00:01Z", "writeKey": "<ingest key>"}},
}
