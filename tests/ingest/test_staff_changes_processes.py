"""Two server processes share one database: a staff change made through one is seen, at once, by a
ping the other answers, although both cache their products (an hour here).

The other process is a real gunicorn (threaded, group commit on, as in production) on a spare
loopback port against the test database; this process serves the staff API and its own pings
through the test client.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from django.conf import settings
from django.db import connection
from django.test import Client, override_settings

from apps.ingest.product_cache import clear_product_cache
from apps.products.models import Product

ROOT = Path(__file__).resolve().parents[2]
PORTS = range(56100, 56200)
STARTUP_SECONDS = 60


def _test_database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _free_port() -> int:
    for port in PORTS:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port in 56100-56199")


class Server:
    def __init__(self, process: subprocess.Popen[bytes], port: int) -> None:
        self.process, self.base = process, f"http://127.0.0.1:{port}"

    def ping(self, key: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        request = urllib.request.Request(f"{self.base}/api/v1/ingest", data=orjson.dumps(body), method="POST",
                                         headers={"Content-Type": "application/json", "X-Telemetry-Key": key})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, orjson.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, orjson.loads(error.read())


@pytest.fixture
def other_process() -> Iterator[Server]:
    port = _free_port()
    env = os.environ | {"DJANGO_SETTINGS_MODULE": "telemetry_site.settings.test", "DATABASE_URL": _test_database_url(),
                        "TELEMETRY_PRODUCT_CACHE_SECONDS": "3600", "TELEMETRY_INGEST_GROUP_COMMIT": "true"}
    if not settings.REDIS_URL:
        env["TELEMETRY_TEST_BROKER_DIR"] = settings.CELERY_BROKER_TRANSPORT_OPTIONS["data_folder_in"]
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "telemetry_site.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--worker-class", "gthread", "--threads", "4", "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    server = Server(process, port)
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            try:
                urllib.request.urlopen(f"{server.base}/healthz", timeout=5).close()
                break
            except urllib.error.HTTPError:
                break  # it answers (a failing health check is not this test's business)
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("gunicorn did not start") from None
                time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            output, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        if b"Traceback" in output:
            print(output.decode(errors="replace"))


@pytest.mark.django_db(transaction=True)
def test_a_change_through_one_process_is_seen_by_the_other_at_once(other_process: Server, client: Client,
                                                                    staff_user: Any, make_product: Any) -> None:
    product: Product = make_product("appsmith", latest_version="v1.9.56", heartbeat_interval=7200)
    old_key = product.ingest_key
    heartbeat = {"type": "heartbeat", "instance_id": "i-1", "version": "v1.9.15"}
    client.force_login(staff_user)
    clear_product_cache()
    with override_settings(TELEMETRY_PRODUCT_CACHE_SECONDS=3600):
        here = client.post("/api/v1/ingest", heartbeat, content_type="application/json",
                           HTTP_X_TELEMETRY_KEY=old_key).json()
        status, there = other_process.ping(old_key, heartbeat)
        assert status == 200 and here["latest_version"] == there["latest_version"] == "v1.9.56"  # both cached

        changed = client.patch(f"/api/v1/products/{product.slug}/", {"latest_version": "v2.0.0"},
                               content_type="application/json")
        assert changed.status_code == 200, changed.content
        status, there = other_process.ping(old_key, heartbeat)
        assert (status, there["latest_version"], there["outdated"]) == (200, "v2.0.0", True)

        posted = client.post("/admin/products/notice/add/", {
            "product": product.pk, "level": "security", "title": "CVE-1", "message": "Upgrade", "url": "",
            "min_version": "", "max_version": "v1.9.20", "_publish": "Publish"})
        assert posted.status_code == 302, posted.content
        status, there = other_process.ping(old_key, heartbeat)
        assert [n["title"] for n in there["notices"]] == ["CVE-1"]

        rotated = client.post("/admin/products/product/", {"action": "rotate_ingest_key",
                                                           "_selected_action": [product.pk]})
        assert rotated.status_code == 302
        new_key = Product.objects.get(pk=product.pk).ingest_key
        status, refused = other_process.ping(old_key, heartbeat)
        assert (status, refused["code"]) == (401, "unknown_key")
        status, there = other_process.ping(new_key, heartbeat)
        assert (status, there["latest_version"]) == (200, "v2.0.0")
        here_refused = client.post("/api/v1/ingest", heartbeat, content_type="application/json",
                                   HTTP_X_TELEMETRY_KEY=old_key)
        assert here_refused.status_code == 401
    clear_product_cache()
