"""Staff limited to some products see only those, in the admin and in the staff API."""

from datetime import UTC, datetime
from typing import Any

import pytest
from django.contrib.auth.models import Group
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from apps.accounts.access import allowed_product_ids, scope_to_products
from apps.accounts.models import ProductAccess, TeamProductAccess
from apps.events.models import Event
from apps.instances.models import Installation, Instance, StatusChange
from apps.licenses.models import License
from apps.products.models import Notice, Product
from apps.rollups.models import DailyRollup, Report

pytestmark = pytest.mark.django_db
NOW = datetime(2025, 3, 1, 12, tzinfo=UTC)


def _fleet(product: Product, tag: str) -> dict[str, Any]:
    licence = License.objects.create(product=product, license_id=f"lic-{tag}", type="ee", first_seen=NOW,
                                     last_seen=NOW)
    instance = Instance.objects.create(product=product, instance_id=f"inst-{tag}", first_seen=NOW, last_seen=NOW,
                                       license=licence)
    return {
        "product": product, "instance": instance, "license": licence,
        "event": Event.objects.create(product=product, instance=instance, name="e", message_id=f"m-{tag}",
                                      timestamp=NOW, received_at=NOW),
        "installation": Installation.objects.create(product=product, install_id=f"i-{tag}", last_seen=NOW,
                                                    instance=instance),
        "report": Report.objects.create(product=product, period_start=NOW.date(), period_end=NOW.date(),
                                        created_at=NOW),
        "rollup": DailyRollup.objects.create(product=product, day=NOW.date(), computed_at=NOW),
        "notice": Notice.objects.create(product=product, title=f"notice {tag}", message="m"),
        "status": StatusChange.objects.create(instance=instance, old="new", new="active", at=NOW),
    }


@pytest.fixture
def fleets(make_product: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    return _fleet(make_product("mine", name="Mine"), "mine"), _fleet(make_product("theirs", name="Theirs"), "theirs")


@pytest.fixture
def limited(make_staff: Any, fleets: tuple[dict, dict]) -> Any:
    user = make_staff("limited")
    ProductAccess.objects.create(user=user).products.set([fleets[0]["product"]])
    return user


def test_who_sees_what(make_staff: Any, fleets: tuple[dict, dict]) -> None:
    mine, theirs = fleets[0]["product"], fleets[1]["product"]
    assert allowed_product_ids(make_staff("root", superuser=True)) is None
    assert allowed_product_ids(make_staff("everyone")) is None  # no limit set: every product
    nothing = make_staff("nothing")
    ProductAccess.objects.create(user=nothing)
    assert allowed_product_ids(nothing) == frozenset()
    team_member = make_staff("member")
    ProductAccess.objects.create(user=team_member).products.set([mine])
    team = Group.objects.create(name="theirs-team")
    TeamProductAccess.objects.create(group=team).products.set([theirs])
    team_member.groups.add(team)
    assert allowed_product_ids(team_member) == frozenset({mine.pk, theirs.pk})
    assert list(scope_to_products(Instance.objects.all(), nothing)) == []


ADMIN_LISTS = ["instances/instance", "instances/installation", "instances/statuschange", "events/event",
               "licenses/license", "products/product", "products/notice", "rollups/dailyrollup", "rollups/report"]


def test_admin_lists_and_pages_show_only_the_allowed_products(limited: Any, fleets: tuple[dict, dict]) -> None:
    client = Client()
    client.force_login(limited)
    mine, theirs = fleets
    for path in ADMIN_LISTS:
        page = client.get(f"/admin/{path}/").content.decode()
        assert "mine" in page.lower(), path
        assert "inst-theirs" not in page and "lic-theirs" not in page and "notice theirs" not in page, path
    assert client.get(f"/admin/instances/instance/{mine['instance'].pk}/change/").status_code == 200
    assert client.get(f"/admin/instances/instance/{theirs['instance'].pk}/change/").status_code == 403
    assert client.post(f"/admin/instances/instance/{theirs['instance'].pk}/collection/",
                       {"level": "off", "reason": "x"}).status_code == 403
    assert client.get(f"/admin/products/notice/{theirs['notice'].pk}/change/").status_code == 302  # "not found"
    assert client.get("/admin/fleet/theirs/").status_code == 404
    dashboard = client.get("/admin/fleet/mine/").content.decode()
    assert "/admin/fleet/theirs/" not in dashboard
    index = client.get("/admin/").content.decode()
    assert "/admin/fleet/mine/" in index and "/admin/fleet/theirs/" not in index
    # Filters and forms offer only their products; they cannot create products.
    listing = client.get("/admin/instances/instance/").content.decode()
    assert f"product__id__exact={theirs['product'].pk}" not in listing
    assert client.get("/admin/products/product/add/").status_code == 403
    form = client.get("/admin/products/notice/add/").content.decode()
    assert ">Mine<" in form and ">Theirs<" not in form
    Instance.objects.filter(pk=theirs["instance"].pk).update(collection="full")
    client.post("/admin/instances/instance/", {"action": "set_collection_level", "apply": "1", "level": "off",
                                               "reason": "x", "_selected_action": [theirs["instance"].pk]})
    assert Instance.objects.get(pk=theirs["instance"].pk).collection == "full"


API_LISTS = ["products", "instances", "events", "installations", "licenses", "rollups/daily", "reports"]
API_DETAILS = {"instances": "instance", "events": "event", "installations": "installation", "licenses": "license",
               "reports": "report"}


def test_the_api_shows_only_the_allowed_products(limited: Any, fleets: tuple[dict, dict]) -> None:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=limited).key}")
    mine, theirs = fleets
    for resource in API_LISTS:
        body = api.get(f"/api/v1/{resource}/").json()
        assert body["count"] == 1, resource
        assert "theirs" not in str(body["results"]), resource
    for resource, key in API_DETAILS.items():
        assert api.get(f"/api/v1/{resource}/{mine[key].pk}/").status_code == 200, resource
        assert api.get(f"/api/v1/{resource}/{theirs[key].pk}/").status_code == 404, resource
    assert api.get("/api/v1/products/theirs/").status_code == 404
    assert api.get("/api/v1/instances/?product=theirs").json()["count"] == 0
    export = api.get("/api/v1/instances/export.csv")
    csv_text = export.getvalue().decode()
    assert "inst-mine" in csv_text and "inst-theirs" not in csv_text
    assert api.patch(f"/api/v1/instances/{theirs['instance'].pk}/", {"collection": "off", "reason": "x"},
                     format="json").status_code == 404
    assert api.delete(f"/api/v1/instances/{theirs['instance'].pk}/").status_code == 404
    assert api.post("/api/v1/products/theirs/rotate-key/").status_code == 404
    assert api.post("/api/v1/products/", {"slug": "new", "name": "New"}, format="json").status_code == 403
    assert Instance.objects.filter(pk=theirs["instance"].pk).exists()


def test_unrestricted_staff_and_superusers_see_everything(make_staff: Any, fleets: tuple[dict, dict]) -> None:
    for user in (make_staff("staff-all"), make_staff("root", superuser=True)):
        api = APIClient()
        api.force_authenticate(user)
        assert api.get("/api/v1/instances/").json()["count"] == 2
