"""The two-way answer: latest version, outdated, notices for the instance's version, collection level."""

from datetime import timedelta

import pytest

from apps.instances.models import Instance
from apps.products.models import Notice, Product, Release

from .conftest import NOW, Post


def ask(post: Post, product: Product, version: str, path: str = "/api/v1/ingest") -> dict:
    return post(path, {"type": "heartbeat", "instance_id": f"i-{version}", "version": version},
                key=product.ingest_key).json()


@pytest.mark.django_db
def test_notices_by_version_range_and_time_window(post: Post, appsmith: Product, clock) -> None:
    security = Notice.objects.create(product=appsmith, level="security", title="CVE-2024-1", message="Upgrade now",
                                     url="https://example.com/cve", min_version="v1.9.0", max_version="v1.9.20")
    everyone = Notice.objects.create(product=appsmith, level="info", title="Webinar")
    Notice.objects.create(product=appsmith, title="Switched off", active=False)
    Notice.objects.create(product=appsmith, title="Later", starts_at=NOW + timedelta(days=1))
    Notice.objects.create(product=appsmith, title="Over", ends_at=NOW - timedelta(days=1))

    affected = ask(post, appsmith, "v1.9.15")
    assert affected["notices"] == [
        {"id": security.pk, "level": "security", "title": "CVE-2024-1", "message": "Upgrade now",
         "url": "https://example.com/cve"},
        {"id": everyone.pk, "level": "info", "title": "Webinar", "message": "", "url": ""}]
    assert [n["title"] for n in ask(post, appsmith, "v1.9.56")["notices"]] == ["Webinar"]
    assert [n["title"] for n in ask(post, appsmith, "v1.8.0")["notices"]] == ["Webinar"]


@pytest.mark.django_db
def test_outdated_against_latest_version_or_newest_release(post: Post, appsmith: Product, wasp: Product,
                                                           clock) -> None:
    assert (ask(post, appsmith, "v1.9.15")["outdated"], ask(post, appsmith, "v1.9.56")["outdated"]) == (True, False)
    assert ask(post, appsmith, "v1.10.0")["outdated"] is False
    Product.objects.filter(pk=wasp.pk).update(latest_version="")
    for version in ("0.1.9.1", "0.11.2", "0.9.0"):
        Release.objects.create(product=wasp, version=version)
    answer = ask(post, wasp, "0.10.0", path="/api/v1/ingest")
    assert (answer["latest_version"], answer["outdated"], answer["next_ping_in"]) == ("0.11.2", True, 43200)


@pytest.mark.django_db
def test_answer_reports_the_collection_level(post: Post, appsmith: Product, clock) -> None:
    assert ask(post, appsmith, "v1")["collect"] == "full"
    Instance.objects.filter(instance_id="i-v1").update(collection="heartbeat")
    assert ask(post, appsmith, "v1")["collect"] == "heartbeat"


@pytest.mark.django_db
def test_product_endpoints_always_answer(post: Post, hasura: Product, clock) -> None:
    Notice.objects.create(product=hasura, title="CLI bug", max_version="v0.9.0")
    cli = {"execution_id": "e-1", "command": "hasura migrate", "version": "v0.4.27", "server_uuid": "unknown"}
    answer = post("/api/v1/ingest/hasura", cli, key=hasura.ingest_key).json()
    assert (answer["collect"], answer["outdated"], [n["title"] for n in answer["notices"]]) == (
        "full", True, ["CLI bug"])
