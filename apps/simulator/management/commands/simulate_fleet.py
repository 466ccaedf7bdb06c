"""Fill the platform with a believable fleet: `python manage.py simulate_fleet` (or `make fleet`)."""

import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apps.simulator.fleet import IngestUnavailable
from apps.simulator.products import PRODUCTS
from apps.simulator.services import fleet_simulate


class Command(BaseCommand):
    help = ("Simulate instances of the seed products (Appsmith, Hasura, FlowFuse, Wasp) sending their real "
            "payloads through the ingest endpoints over past days, then run the heartbeat check, rollups "
            "and reports.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--products", default=",".join(PRODUCTS),
                            help=f"comma-separated slugs among {', '.join(PRODUCTS)} (default: all)")
        parser.add_argument("--instances", type=int, default=12, help="instances per product (default 12)")
        parser.add_argument("--days", type=int, default=30, help="days of history, ending now (default 30)")
        parser.add_argument("--seed", type=int, default=1, help="random seed: same seed, same fleet (default 1)")

    def handle(self, *args: Any, **options: Any) -> None:
        slugs = [s.strip() for s in options["products"].split(",") if s.strip()]
        unknown = sorted(set(slugs) - set(PRODUCTS))
        if unknown or not slugs:
            raise CommandError(f"unknown product(s) {', '.join(unknown) or '(none given)'}; "
                               f"choose among {', '.join(PRODUCTS)}")
        if options["instances"] < 1 or not 1 <= options["days"] <= 730:
            raise CommandError("--instances must be at least 1 and --days between 1 and 730")
        started = time.monotonic()
        try:
            result = fleet_simulate(slugs=slugs, instances=options["instances"], days=options["days"],
                                    seed=options["seed"], now=timezone.now(), progress=self._say)
        except IngestUnavailable as exc:
            raise CommandError(str(exc)) from exc
        for problem in result.stats.rejected[:10]:
            self.stderr.write(self.style.WARNING(f"rejected: {problem}"))
        if result.jobs_missing:
            self.stderr.write(self.style.WARNING(f"jobs not available: {', '.join(result.jobs_missing)}"))
        self._say(self.style.SUCCESS(
            f"Simulated {result.instances} instances of {', '.join(p.slug for p in result.products)} over "
            f"{options['days']} days: {result.stats.records} records ({result.new} new, {result.already_stored} "
            f"already stored), {result.stats.refused} rejected, "
            f"jobs run: {', '.join(result.jobs_run) or 'none'} ({time.monotonic() - started:.1f}s)."))
        self._say("Open /admin/fleet/ to see the dashboards.")

    def _say(self, message: str) -> None:
        self.stdout.write(message)
