"""Run the heartbeat checker now: the same service as the `check_heartbeats` Celery task."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from apps.core.progress import progress_bar
from apps.instances.services import instances_check_heartbeats
from apps.instances.services.staleness import DEFAULT_CHUNK_SIZE


class Command(BaseCommand):
    help = "Mark instances without a recent heartbeat stale, then dead (dated when each threshold passed)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE,
                            help="Instances changed per statement (default %(default)s).")

    def handle(self, *args: Any, **options: Any) -> None:
        with progress_bar(options, desc="status changes", unit="instance") as bar:
            result = instances_check_heartbeats(now=timezone.now(), chunk_size=options["chunk_size"],
                                                progress=bar.update)
        self.stdout.write(self.style.SUCCESS(f"Heartbeat check: {result.stale} stale, {result.dead} dead."))
