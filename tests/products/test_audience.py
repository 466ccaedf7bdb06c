"""Notice and release previews: which instances a version range reaches."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from apps.instances.models import Instance, InstanceStatus
from apps.products.audience import notice_audience, notice_is_live, release_audience
from apps.products.models import Notice, Product, Release

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def fleet(product: Product) -> Product:
    rows = [("v1.9.9", InstanceStatus.ACTIVE), ("v1.9.15", InstanceStatus.ACTIVE), ("v1.9.15", InstanceStatus.DEAD),
            ("v1.10.0", InstanceStatus.STALE), ("v1.10.0-beta1", InstanceStatus.ACTIVE), ("", InstanceStatus.NEW),
            ("v2.0.0", InstanceStatus.ACTIVE)]
    Instance.objects.bulk_create(
        Instance(product=product, instance_id=f"i{n}", version=version, status=status, first_seen=NOW,
                 last_seen=NOW - timedelta(hours=n)) for n, (version, status) in enumerate(rows))
    return product


def test_notice_audience_compares_versions_semantically(fleet: Product) -> None:
    notice = Notice.objects.create(product=fleet, title="t", min_version="v1.9.10", max_version="v1.10.0")
    audience = notice_audience(notice=notice)
    assert [(v.version, v.alive, v.total) for v in audience.versions] == [
        ("v1.10.0", 1, 1), ("v1.10.0-beta1", 1, 1), ("v1.9.15", 1, 2)]
    assert (audience.alive, audience.total) == (3, 4)
    assert [i.instance_id for i in audience.sample] == ["i1", "i3", "i4"]


def test_open_range_reaches_everyone_even_without_a_version(fleet: Product) -> None:
    audience = notice_audience(notice=Notice.objects.create(product=fleet, title="all"))
    assert audience.total == 7 and audience.alive == 6


def test_notice_is_live() -> None:
    assert notice_is_live(notice=Notice(active=True), now=NOW)
    assert not notice_is_live(notice=Notice(active=False), now=NOW)
    assert not notice_is_live(notice=Notice(active=True, starts_at=NOW + timedelta(days=1)), now=NOW)
    assert not notice_is_live(notice=Notice(active=True, ends_at=NOW), now=NOW)


def test_release_audience(fleet: Product) -> None:
    release = Release.objects.create(product=fleet, version="v1.10.0")
    audience = release_audience(release=release)
    assert (audience.on_release.alive, audience.on_release.total) == (1, 1)
    assert [v.version for v in audience.older.versions] == ["v1.10.0-beta1", "v1.9.15", "v1.9.9"]
    assert audience.older.alive == 3 and audience.newer == 1


def test_notice_page_shows_its_audience(fleet: Product, client: Client, staff_user) -> None:
    notice = Notice.objects.create(product=fleet, level=Notice.Level.SECURITY, title="Patch now",
                                   max_version="v1.9.15")
    client.force_login(staff_user)
    body = client.get(f"/admin/products/notice/{notice.pk}/change/").content.decode()
    assert "Who gets this notice" in body and "live now" in body
    assert '<strong data-testid="audience-alive">2</strong>' in body
    # Matched as link text: a bare "i3" can occur in the page's random CSRF token.
    assert '">i0</a>' in body and '">i1</a>' in body and '">i3</a>' not in body
    release = Release.objects.create(product=fleet, version="v2.0.0")
    body = client.get(f"/admin/products/release/{release.pk}/change/").content.decode()
    assert "Instances and this release" in body
