"""Change lists of big tables page without counting."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from apps.core.admin_utils import NoCountPaginator, uncounted_page
from apps.instances.models import Instance
from apps.products.models import Product

NOW = datetime(2025, 3, 1, tzinfo=UTC)


@pytest.fixture
def instances(product: Product) -> list[Instance]:
    return Instance.objects.bulk_create(
        Instance(product=product, instance_id=f"i{n:03d}", first_seen=NOW, last_seen=NOW - timedelta(minutes=n))
        for n in range(7))


def test_no_count_paginator_looks_one_row_ahead(instances: list[Instance], django_assert_num_queries) -> None:
    queryset = Instance.objects.order_by("instance_id")
    paginator = NoCountPaginator(queryset, 3)
    with django_assert_num_queries(1):
        page = paginator.page(2)
    assert [i.instance_id for i in page.object_list] == ["i003", "i004", "i005"] and paginator.has_more
    paginator.page(3)
    assert not paginator.has_more
    assert uncounted_page(queryset, page="x", per_page=5)[1:] == (1, True)
    assert uncounted_page(queryset, page=-3, per_page=10) == (list(queryset), 1, False)


def test_change_list_shows_newer_and_older_links_without_totals(instances: list[Instance], client: Client,
                                                                staff_user, monkeypatch) -> None:
    from apps.instances.admin import InstanceAdmin

    monkeypatch.setattr(InstanceAdmin, "list_per_page", 3)
    client.force_login(staff_user)
    body = client.get("/admin/instances/instance/", {"p": 2}).content.decode()
    assert "page 2" in body and "?p=1" in body and "?p=3" in body
    assert "1000000000" not in body and "Select all matching instances" in body
    last = client.get("/admin/instances/instance/", {"p": 3}).content.decode()
    assert "page 3" in last and "?p=4" not in last
    searched = client.get("/admin/instances/instance/", {"q": "i001"}).content.decode()
    assert "i001" in searched and "1000000000" not in searched
