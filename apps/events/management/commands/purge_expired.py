"""Delete expired events now: the same service as the daily `purge_expired` task."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from apps.core.progress import progress_bar
from apps.events.services import DEFAULT_BATCH_SIZE, events_purge_expired


class Command(BaseCommand):
    help = "Delete events older than their product's retention, in bounded batches."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE,
                            help="Events deleted per transaction (default %(default)s).")

    def handle(self, *args: Any, **options: Any) -> None:
        with progress_bar(options, desc="expired events", unit="event") as bar:
            deleted = events_purge_expired(now=timezone.now(), batch_size=options["batch_size"],
                                           progress=bar.update)
        self.stdout.write(self.style.SUCCESS(f"Deleted {deleted} expired event(s)."))
