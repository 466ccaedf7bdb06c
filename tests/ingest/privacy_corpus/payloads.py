"""Payloads that carry addresses and e-mails everywhere a sender can put them, one set per ingest path.

Every address and e-mail used below is listed in ADDRESSES / EMAILS; `spellings` gives each way it
could be written, so a test can assert that none of them is stored in any form.
"""

import ipaddress
from collections.abc import Iterator
from typing import Any

# The request's own address: seen by the pipeline (country lookup) and never stored.
REMOTE = "192.0.2.77"
V4 = ("198.18.0.11", "203.0.113.45", "10.20.30.40", "100.64.3.9", REMOTE)
V6 = ("2001:db8::1", "2001:db8:85a3::8a2e:370:7334", "fe80::abcd:1", "2001:db8:0:7::42")
ADDRESSES = (*V4, *V6)
EMAILS = ("jane.doe@example.com", "ops+alerts@example.org", "admin@corp.example.net", "license-owner@example.io",
          "dev@example.co.uk", "carol@example.dev")
# The same instance, named by one IPv6 address in two spellings.
SAME_INSTANCE = ("2001:db8::1", "2001:DB8:0:0:0:0:0:1")


def spellings() -> Iterator[str]:
    """Every form of every corpus address and e-mail, lower-cased (compare with a lower-cased dump)."""
    for v4 in V4:
        yield v4
        yield ".".join(part.zfill(3) for part in v4.split("."))
    for v6 in V6:
        address = ipaddress.IPv6Address(v6)
        yield address.compressed
        yield address.exploded
        yield ":".join(part.lstrip("0") or "0" for part in address.exploded.split(":"))  # uncompressed
    for email in EMAILS:
        yield email
        yield email.replace("@", "%40")
        yield email.replace("+", "%2b").replace("@", "%40")


def native() -> dict[str, Any]:
    return {"batch": [
        {"type": "heartbeat", "instance_id": SAME_INSTANCE[0], "message_id": "hb-1", "version": "1.0.0",
         "license": {"id": "license-owner@example.io", "type": "enterprise"},
         "properties": {"clientIps": ["203.0.113.45", "2001:db8:85a3::8a2e:370:7334"],
                        "note": "contact jane.doe@example.com or ops+alerts@example.org",
                        "endpoints": {"http://[2001:db8:85a3:0:0:8a2e:370:7334]:8080/": "up",
                                      "db": "postgres://app:secret@10.20.30.40:5432/app"},
                        "ipAddress": "198.18.0.11"},
         "metrics": {"peers": {"100.64.3.9": 3, "[fe80::abcd:1]:7946": 1}}},
        {"type": "heartbeat", "instance_id": SAME_INSTANCE[1], "message_id": "hb-2", "version": "1.0.1"},
        {"type": "install", "install_id": "198.18.0.11:5432", "step": "failed", "message_id": "carol@example.dev",
         "error": "connect ECONNREFUSED 198.18.0.11:5432 (owner admin@corp.example.net)", "os": "linux"},
        {"type": "event", "event": "backup failed to [2001:db8:0:7::42]:443", "instance_id": "10.20.30.40",
         "message_id": "ev-100.64.3.9", "context": "ssh 203.0.113.45", "properties": {"to": "dev@example.co.uk"}},
    ]}


def hasura() -> dict[str, Any]:
    return {"server_version": "2.0.0", "event_type": "Main/RUN_TIME_ERROR",
            "url": "http://198.18.0.11:8080/console/data?user=jane.doe%40example.com",
            "console_mode": "server", "cli_uuid": "203.0.113.45", "server_uuid": "2001:db8::1",
            "data": {"message": "connect ECONNREFUSED [fe80::abcd:1]:5432",
                     "stack": [" at http://100.64.3.9/main.js:1:3", "ops+alerts@example.org"]}}


def flowfuse() -> dict[str, Any]:
    return {"instanceId": "203.0.113.45", "base_url": "http://10.20.30.40:1880",
            "os": {"type": "Linux", "release": "5.15", "arch": "x64"}, "env": {"nodejs": "v18.0.0"},
            "platform": {"counts": {"users": 2, "admin@corp.example.net": 1},
                         "config": {"email": {"enabled": True, "from": "carol@example.dev",
                                              "smtp": "[2001:db8:0:7::42]:587"}},
                         "license": {"id": "license-owner@example.io", "type": "EE"}}}


def wasp() -> list[dict[str, Any]]:
    return [{"distinct_id": "dev@example.co.uk", "os": "linux", "context": "CI 198.18.0.11",
             "wasp_version": "0.11.0", "deploy_cmd_args": "fly;deploy;--host=10.20.30.40"},
            {"distinct_id": "2001:db8:85a3::8a2e:370:7334", "os": "linux", "project_hash": "jane.doe@example.com"}]


def _segment_track(n: int, **fields: Any) -> dict[str, Any]:
    return {"type": "track", "event": f"Page Viewed {n}", "messageId": f"seg-{n}",
            "timestamp": "2024-01-10T11:00:00Z", **fields}


def segment_batch() -> dict[str, Any]:
    return {"batch": [
        _segment_track(1, anonymousId="2001:db8:85a3::8a2e:370:7334", userId="jane.doe@example.com",
                       context={"ip": "192.0.2.77",
                                "page": {"url": "http://198.18.0.11:3000/app?u=ops%2Balerts%40example.org",
                                         "referrer": "http://[2001:db8::1]:8080/", "path": "/app"}}),
        _segment_track(2, anonymousId="100.64.3.9", properties={"clientIps": ["10.20.30.40", "fe80::abcd:1"]}),
    ]}


def segment_track() -> dict[str, Any]:
    return _segment_track(3, userId="ops+alerts@example.org", anonymousId="a-1",
                          properties={"error": "connect ECONNREFUSED 198.18.0.11:5432",
                                      "carol@example.dev": "key holds an e-mail",
                                      "peers": "203.0.113.45,[2001:db8:0:7::42]:443"})


def posthog_batch() -> dict[str, Any]:
    return {"batch": [
        {"event": "$pageview", "distinct_id": "100.64.3.9", "timestamp": "2024-01-10T11:00:00Z",
         "properties": {"$current_url": "http://[2001:db8::1]:8000/x", "$ip": "203.0.113.45",
                        "$set": {"email": "jane.doe@example.com"}, "$insert_id": "ph-1"}},
        {"event": "signup", "distinct_id": "admin@corp.example.net", "timestamp": "2024-01-10T11:00:00Z",
         "properties": {"$referrer": "https://198.18.0.11/", "$insert_id": "ph-2"}},
    ]}


def posthog_capture() -> dict[str, Any]:
    return {"event": "error", "distinct_id": "fe80::abcd:1", "timestamp": "2024-01-10T11:00:00Z",
            "properties": {"message": "cannot reach 10.20.30.40:6379 for dev@example.co.uk", "$insert_id": "ph-3",
                           "$device_id": "2001:db8:0:7::42"}}
