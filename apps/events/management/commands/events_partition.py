"""Partition the events table (PostgreSQL): convert a plain one in place, and create the partitions ahead."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apps.core import sql
from apps.core.progress import progress_bar
from apps.events.partitions import DAYS_AHEAD, events_partition_in_place, is_partitioned, partitions_ensure


class Command(BaseCommand):
    help = ("Convert a plain events table into the partitioned one in bounded batches, with ingest running "
            "(resumable), then create the day partitions ahead. PostgreSQL only.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--batch-size", type=int, default=50_000,
                            help="Events copied per transaction (default %(default)s).")
        parser.add_argument("--days-ahead", type=int, default=DAYS_AHEAD,
                            help="Day partitions created ahead of today (default %(default)s).")

    def handle(self, *args: Any, **options: Any) -> None:
        if not sql.is_postgres():
            raise CommandError("only PostgreSQL partitions the events table; SQLite keeps one table")
        now = timezone.now()
        if not is_partitioned():
            with progress_bar(options, desc="events copied", unit="event") as bar:
                copied = events_partition_in_place(now=now, batch_size=options["batch_size"], progress=bar.update)
            self.stdout.write(f"Converted the events table: {copied} event(s) copied.")
        created = partitions_ensure(now=now, days_ahead=options["days_ahead"])
        self.stdout.write(self.style.SUCCESS(f"Events table partitioned; {len(created)} partition(s) created."))
