"""Property-based run of every operation the OpenAPI schema lists (staff API and ingest) against the
WSGI app, authenticated as staff: whatever schemathesis generates, the server must never answer 5xx,
and the staff operations must answer as their schema says."""

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import negative_data_rejection, positive_data_acceptance

from apps.alerts.models import Alert, AlertChannel, AlertRule
from apps.events.models import Event
from apps.instances.models import Installation, Instance
from apps.licenses.models import License
from apps.products.models import Product
from apps.rollups.models import DailyRollup, Report
from telemetry_site.wsgi import application

# Loaded from the running app, so operations added to the schema later are covered without edits here.
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)


@pytest.fixture
def credentials(staff_user, product) -> Iterator[dict[str, str]]:
    # Django's own test client does the same: closing "old" connections between requests would
    # close the connection that holds the test's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield {"Authorization": f"Token {Token.objects.create(user=staff_user).key}",
               # Ingest operations authenticate by product key; staff operations ignore this header.
               "X-Telemetry-Key": product.ingest_key}
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def existing(product: Product) -> dict[str, int]:
    """One object of every resource, so generated requests reach real rows and not only 404s."""
    now = datetime(2024, 1, 9, tzinfo=UTC)
    licence = License.objects.create(product=product, license_id="lic-1", type="enterprise", first_seen=now,
                                     last_seen=now)
    instance = Instance.objects.create(product=product, instance_id="inst-1", first_seen=now, last_seen=now,
                                       license=licence, metrics={"heartbeat": {"users": 3}})
    DailyRollup.objects.create(product=product, day=now.date(), computed_at=now)
    # E-mail (the test backend keeps it in memory), so `test/` never sends traffic anywhere.
    channel = AlertChannel.objects.create(name="ops", kind="email", target="ops@example.com")
    rule = AlertRule.objects.create(product=product, name="all", kind="instance_status", params={"selector": {}})
    rule.channels.set([channel])
    return {
        "alert-channels": channel.pk, "alert-rules": rule.pk,
        "alerts": Alert.objects.create(rule=rule, product=product, summary="s", fired_at=now).pk,
        "instances": instance.pk, "licenses": licence.pk,
        "events": Event.objects.create(product=product, instance=instance, name="e", message_id="m-1", timestamp=now,
                                       received_at=now).pk,
        "installations": Installation.objects.create(product=product, install_id="i-1", last_seen=now,
                                                     instance=instance).pk,
        "reports": Report.objects.create(product=product, period_start=now.date(), period_end=now.date(),
                                         created_at=now).pk,
    }


def aim_at_existing_rows(case: schemathesis.Case, existing: dict[str, int]) -> None:
    """Point about half the generated ids and slugs at rows that exist (deterministically, by the
    generated value's length), keeping the rest as generated so 404 paths stay covered."""
    for name, value in list((case.path_parameters or {}).items()):
        if len(str(value)) % 2:
            continue
        if name == "slug":
            case.path_parameters[name] = "appsmith"
        elif name == "id" and case.path.startswith("/api/v1/"):
            resource = case.path.split("/")[3]
            if resource in existing:
                case.path_parameters[name] = existing[resource]


STAFF_RESOURCES = {"products", "instances", "events", "installations", "licenses", "rollups", "reports",
                   "alert-channels", "alert-rules", "alerts"}


def is_staff_operation(case: schemathesis.Case) -> bool:
    parts = case.path.split("/")
    return case.path.startswith("/api/v1/") and parts[3].split(".")[0] in STAFF_RESOURCES


@pytest.mark.django_db
@schema.parametrize()
@settings(max_examples=25, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_no_operation_answers_a_server_error(case: schemathesis.Case, credentials: dict[str, str],
                                             existing: dict[str, int]) -> None:
    aim_at_existing_rows(case, existing)
    if is_staff_operation(case):
        # Our own operations must also match the schema: documented status codes, content types and
        # response bodies. Left out: the API is lenient by design (unknown query parameters and body
        # fields are ignored, page=0 falls back to page 1) and validates across fields (dead_after
        # against the stale threshold), which the two "data acceptance" checks would flag.
        case.call_and_validate(headers=credentials,
                               excluded_checks=[negative_data_rejection, positive_data_acceptance])
    else:
        # Operations other apps document (ingest): the contract here is "never a server error".
        case.call_and_validate(headers=credentials, checks=[not_a_server_error])
