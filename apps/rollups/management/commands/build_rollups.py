"""Recompute daily rollups: by default yesterday and today (what the hourly task does), or any range."""

from datetime import date, timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apps.core.progress import progress_bar
from apps.rollups.services import days_between, rollups_build


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"not a date (YYYY-MM-DD): {text!r}") from exc


class Command(BaseCommand):
    help = "Recompute (replace) the daily rollups and breakdowns of every product for a range of UTC days."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--from", dest="first", type=_day, help="First day (default: yesterday).")
        parser.add_argument("--to", dest="last", type=_day, help="Last day, included (default: today).")

    def handle(self, *args: Any, **options: Any) -> None:
        now = timezone.now()
        last = options["last"] or now.date()
        first = options["first"] or min(last, now.date() - timedelta(days=1))
        if first > last:
            raise CommandError(f"--from {first} is after --to {last}")
        days = list(days_between(first, last))
        with progress_bar(options, total=len(days), desc="days", unit="day") as bar:
            built = rollups_build(days=days, now=now, progress=bar.update)
        self.stdout.write(self.style.SUCCESS(f"Built {built} product-day rollup(s) from {first} to {last}."))
