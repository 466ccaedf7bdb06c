"""simulate_fleet's work: products, releases and notices, then a replayed history through ingest,
then the scheduled jobs (heartbeat check, rollups, reports) so every admin page has data.

Idempotent per seed: the fleet is planned for whole UTC days (the window ends at the end of
today, not at the current second), so every instance, time and message id follows from the seed
and the day alone; records dated after the present are held back until a later run. Running it
again stores nothing twice, and the summary says how many records were new.
"""

import io
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.core.management import call_command, get_commands
from django.utils.module_loading import import_string

from apps.events.models import Event
from apps.products.models import Notice, Product, Release

from .fleet import Sender, SendStats, replay
from .plan import make_plans
from .products import PRODUCTS


@dataclass
class SimulationResult:
    products: list[Product]
    instances: int
    stats: SendStats
    jobs_run: list[str] = field(default_factory=list)
    jobs_missing: list[str] = field(default_factory=list)
    new: int = 0  # records stored by this run
    already_stored: int = 0  # records accepted that an earlier run (or request) had stored

    def count_stored(self, *, before: int, after: int) -> None:
        self.new = after - before
        self.already_stored = max(self.stats.records - self.stats.refused - self.new, 0)


def products_ensure(*, slugs: list[str], now: datetime) -> list[Product]:
    """The seed products (created with their documented heartbeat interval if missing), a few releases
    each, the latest one recommended, and each product's notice. Existing settings are left alone."""
    products = []
    for slug in slugs:
        module = PRODUCTS[slug]
        product, _ = Product.objects.get_or_create(
            slug=slug, defaults={"name": module.NAME, "heartbeat_interval": module.HEARTBEAT_INTERVAL,
                                 **module.PRODUCT_DEFAULTS})
        for age, version in zip(range(len(module.RELEASES) * 45, 0, -45), module.RELEASES, strict=True):
            Release.objects.get_or_create(product=product, version=version,
                                          defaults={"released_at": now - timedelta(days=age)})
        if not product.latest_version:
            product.latest_version = module.RELEASES[-1]
            product.save(update_fields=["latest_version", "updated_at"])
        if module.NOTICE:
            Notice.objects.get_or_create(product=product, title=module.NOTICE["title"], defaults=module.NOTICE)
        products.append(product)
    return products


def _stored(products: list[Product]) -> int:
    return Event.objects.filter(product__in=products).count()


def _run_job(name: str, result: SimulationResult, *args: Any, **options: Any) -> None:
    if name not in get_commands():
        result.jobs_missing.append(name)
        return
    call_command(name, *args, **options)
    result.jobs_run.append(name)


def _checker_at() -> Callable[[datetime], None] | None:
    """The heartbeat checker as of a simulated time, run between replayed days so instances that fall
    silent turn stale/dead while it happens and their comeback is recorded by ingest as a resurrection.
    The `check_heartbeats` command always checks at the real time, hence the service itself."""
    try:
        check = import_string("apps.instances.services.instances_check_heartbeats")
    except ImportError:
        return None
    return lambda at: check(now=at)


def fleet_simulate(*, slugs: list[str], instances: int, days: int, seed: int, now: datetime,
                   progress: Callable[[str], None] = lambda message: None) -> SimulationResult:
    window_start = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    horizon = window_start + timedelta(days=days)
    products = products_ensure(slugs=slugs, now=now)
    streams = []
    for product in products:
        module = PRODUCTS[product.slug]
        rng = random.Random(f"{seed}:{product.slug}")
        plans = make_plans(rng=rng, count=instances, window_start=window_start, now=horizon,
                           releases=module.RELEASES)
        planned = module.records(rng=rng, plans=plans, window_start=window_start, now=horizon)
        records = [record for record in planned if record.at <= now]
        progress(f"{product.slug}: {len(plans)} instances, {len(records)} records")
        streams.append((product, records))
    sender = Sender()
    result = SimulationResult(products, instances * len(products), sender.stats)
    checker = _checker_at()
    if checker is None:
        result.jobs_missing.append("heartbeat checker between days")
    before = _stored(products)
    replay(sender=sender, streams=streams, window_start=window_start, now=now, on_day_end=checker)
    result.count_stored(before=before, after=_stored(products))
    progress(f"sent {sender.stats.records} records in {sender.stats.requests} requests: {result.new} new, "
             f"{result.already_stored} already stored")
    quiet = {"stdout": io.StringIO(), "stderr": io.StringIO(), "verbosity": 0}
    _run_job("check_heartbeats", result, **quiet)
    _run_job("build_rollups", result, "--from", window_start.date().isoformat(), "--to", now.date().isoformat(),
             **quiet)
    for product in products:
        _run_job("send_reports", result, "--product", product.slug, **quiet)
    return result
