"""A fleet written straight into the tables (bulk inserts, no ingest), sized at will.

The admin's query-count tests build it small and large and assert the same bound on both: a page
whose query count grew with the fleet would fail there. simulate_fleet (the real ingest path) is
tested on its own and drives the browser tests.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from apps.events.models import Event, EventKind
from apps.instances.models import (
    CollectionChange,
    CollectionLevel,
    Installation,
    Instance,
    InstanceStatus,
    StatusChange,
)
from apps.licenses.models import License
from apps.products.models import Notice, Product, Release
from apps.rollups.models import DailyBreakdown, DailyRollup, Report

VERSIONS = ["v1.9.13", "v1.9.14", "v1.9.15", "v1.9.56", "v1.10.0", "v1.10.1", "v2.0.0", "v2.1.0", "v2.2.0",
            "v2.3.0"]
STATUSES = [InstanceStatus.ACTIVE, InstanceStatus.ACTIVE, InstanceStatus.NEW, InstanceStatus.STALE,
            InstanceStatus.DEAD]
EVENT_NAMES = ["execute_ACTION_TRIGGERED", "APPLICATIONS_PAGE_LOAD", "create_APPLICATION", "login"]
COUNTRIES = ["", "DE", "US", "FR", "BR", "IN", "JP", "GB", "NL", "CA", "AU", "PL", "ES", "IT"]


@dataclass
class Fleet:
    product: Product
    instances: list[Instance]
    licenses: list[License]
    installations: list[Installation]
    events: list[Event]
    notices: list[Notice]
    releases: list[Release]
    reports: list[Report]


def build_fleet(*, size: int, days: int, now: datetime, slug: str = "appsmith") -> Fleet:
    product = Product.objects.create(slug=slug, name=slug.title(), latest_version=VERSIONS[-1],
                                     heartbeat_interval=2 * 3600)
    licenses = License.objects.bulk_create(
        License(product=product, license_id=f"lic-{n}", type=["DEV", "ENTERPRISE", "TRIAL"][n % 3],
                first_seen=now - timedelta(days=days), last_seen=now) for n in range(max(1, size // 5)))
    instances = Instance.objects.bulk_create(_instance(product, n, now, days, licenses) for n in range(size))
    StatusChange.objects.bulk_create(
        StatusChange(instance=inst, old=old, new=new, at=now - timedelta(days=d))
        for inst in instances
        for old, new, d in ((InstanceStatus.NEW, InstanceStatus.ACTIVE, 3), (InstanceStatus.ACTIVE,
                                                                            InstanceStatus.STALE, 2)))
    CollectionChange.objects.bulk_create(
        CollectionChange(instance=inst, at=now - timedelta(days=1), old=CollectionLevel.FULL,
                         new=CollectionLevel.HEARTBEAT, reason="customer asked")
        for inst in instances[::3])
    installations = Installation.objects.bulk_create(
        Installation(product=product, install_id=f"install-{n}", status=list(Installation.Status)[n % 4],
                     os="ubuntu", started_at=now - timedelta(hours=n), last_seen=now,
                     instance=instances[n] if n % 2 == 0 else None)
        for n in range(size))
    events = Event.objects.bulk_create(_events(product, instances, now))
    releases = Release.objects.bulk_create(
        Release(product=product, version=v, released_at=now - timedelta(days=30 - i))
        for i, v in enumerate(VERSIONS[-3:]))
    notices = Notice.objects.bulk_create([
        Notice(product=product, level=Notice.Level.SECURITY, title="Upgrade: auth bypass",
               message="Versions up to v1.9.56 are affected.", max_version="v1.9.56"),
        Notice(product=product, level=Notice.Level.INFO, title="v2 is out", min_version="v1.10.0"),
    ])
    _rollups(product, size, days, now)
    reports = Report.objects.bulk_create(
        Report(product=product, kind=Report.Kind.WEEKLY, period_start=(now - timedelta(days=7 * (w + 1))).date(),
               period_end=(now - timedelta(days=7 * w + 1)).date(), created_at=now, content={"active": size},
               body=f"Active instances: {size}") for w in range(2))
    return Fleet(product, instances, licenses, installations, events, notices, releases, reports)


def _instance(product: Product, n: int, now: datetime, days: int, licenses: list[License]) -> Instance:
    return Instance(
        product=product, instance_id=f"inst-{n:06d}", first_seen=now - timedelta(days=days),
        last_seen=now - timedelta(hours=n % 50), version=VERSIONS[n % len(VERSIONS)],
        edition=["CE", "EE"][n % 2], os=["linux", "darwin"][n % 2], status=STATUSES[n % len(STATUSES)],
        collection=CollectionLevel.HEARTBEAT if n % 3 == 0 else CollectionLevel.FULL,
        metrics={"server": {"tables": n, "permissions": {"roles": 1}},
                 "usage": {"hasura_http_connections": [{"value": n}]}},
        license=licenses[n % len(licenses)] if n % 2 else None, heartbeat_count=n)


def _events(product: Product, instances: list[Instance], now: datetime) -> list[Event]:
    rows = []
    for i, inst in enumerate(instances):
        for h in range(4):
            rows.append(Event(product=product, instance=inst, kind=EventKind.HEARTBEAT, name="FETCH_RELEASE_NOTES",
                              message_id=f"hb-{i}-{h}", timestamp=now - timedelta(hours=2 * h),
                              received_at=now, properties={"version": VERSIONS[(i + h) % len(VERSIONS)]}))
        rows.append(Event(product=product, instance=inst, kind=EventKind.EVENT, name=EVENT_NAMES[i % 4],
                          message_id=f"ev-{i}", timestamp=now - timedelta(minutes=i), received_at=now,
                          properties={"appMode": "edit"}))
    return rows


def _rollups(product: Product, size: int, days: int, now: datetime) -> None:
    computed = now
    DailyRollup.objects.bulk_create(
        DailyRollup(product=product, day=(now - timedelta(days=d)).date(), active_instances=size, new_instances=d % 3,
                    stale_instances=d % 2, dead_instances=d % 4 == 0, resurrected_instances=d % 5 == 0,
                    heartbeats=12 * size, events=3 * size, installs_started=4, installs_succeeded=3,
                    installs_failed=1, installs_support=d % 2, opt_outs=size // 4 + d % 2, computed_at=computed)
        for d in range(days))
    breakdowns = []
    for d in range(days):
        day = (now - timedelta(days=d)).date()
        for i, version in enumerate(VERSIONS):
            breakdowns.append(DailyBreakdown(product=product, day=day, dimension="version", key=version,
                                             count=size // len(VERSIONS) + i, instances=size // len(VERSIONS) + i))
        for dimension, keys in (("edition", ["CE", "EE"]), ("os", ["linux", "darwin"]),
                                ("license_type", ["", "DEV", "ENTERPRISE"]), ("event", EVENT_NAMES),
                                ("country", COUNTRIES), ("opt_out_version", VERSIONS[:3])):
            breakdowns.extend(DailyBreakdown(product=product, day=day, dimension=dimension, key=key,
                                             count=size + j, instances=size // 2 + j) for j, key in enumerate(keys))
    DailyBreakdown.objects.bulk_create(breakdowns)
