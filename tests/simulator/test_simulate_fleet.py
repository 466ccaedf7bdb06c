"""simulate_fleet through the real ingest endpoints: every product gets a fleet with a history."""

import io
from collections.abc import Iterator

import pytest
from django.core.management import CommandError, call_command
from django.db.models import Count, Max, Min

from apps.events.models import Event, EventKind
from apps.instances.models import Installation, Instance
from apps.licenses.models import License
from apps.products.models import Notice, Product, Release
from apps.rollups.models import DailyBreakdown, DailyRollup

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def output(django_db_setup, django_db_blocker) -> Iterator[str]:
    """One simulated fleet for the whole module (it is the slow part), rolled back afterwards."""
    with django_db_blocker.unblock():
        from django.db import transaction

        out = io.StringIO()
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            call_command("simulate_fleet", instances=6, days=10, seed=11, stdout=out, stderr=out)
            yield out.getvalue()
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


def test_products_releases_and_notices(output: str) -> None:
    assert set(Product.objects.values_list("slug", flat=True)) == {"appsmith", "hasura", "flowfuse", "wasp"}
    assert Release.objects.filter(product__slug="appsmith").count() == 5
    assert Product.objects.get(slug="appsmith").latest_version == "v1.11.0"
    assert Notice.objects.filter(product__slug="appsmith", level=Notice.Level.SECURITY).exists()
    assert "0 rejected" in output, output


def test_instances_have_history_spread_over_the_days(output: str) -> None:
    for slug in ("appsmith", "hasura", "flowfuse", "wasp"):
        instances = Instance.objects.filter(product__slug=slug)
        assert 4 <= instances.count() <= 6, slug
        span = Event.objects.filter(product__slug=slug, kind=EventKind.HEARTBEAT).aggregate(
            first=Min("timestamp"), last=Max("timestamp"))
        assert (span["last"] - span["first"]).days >= 8, (slug, span)
        assert instances.values("version").distinct().count() >= 2, slug


def test_installs_licences_statuses_and_events(output: str) -> None:
    funnel = dict(Installation.objects.filter(product__slug="appsmith").values_list("status")
                  .annotate(n=Count("id")))
    assert funnel.get("succeeded") and funnel.get("failed"), funnel
    assert License.objects.filter(product__slug="flowfuse").exists()
    assert Instance.objects.filter(product__slug="flowfuse", license__isnull=False).exists()
    assert Instance.objects.filter(product__slug="wasp").exists()  # a Wasp instance is a CLI installation
    assert Installation.objects.filter(product__slug="wasp").exists()
    assert Event.objects.filter(product__slug="appsmith", kind=EventKind.EVENT).exists()
    assert Instance.objects.exclude(status="active").exists()


def test_rollups_are_built(output: str) -> None:
    assert "build_rollups" in output and "check_heartbeats" in output, output
    assert DailyRollup.objects.filter(product__slug="appsmith", active_instances__gt=0).count() >= 9
    assert DailyBreakdown.objects.filter(product__slug="appsmith", dimension="version").exists()


def test_bad_options_are_refused() -> None:
    with pytest.raises(CommandError, match="unknown product"):
        call_command("simulate_fleet", products="appsmith,nope")
    with pytest.raises(CommandError, match="--days"):
        call_command("simulate_fleet", days=0)
