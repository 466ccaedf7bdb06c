"""Send fleet reports now: by default the weekly job (last full week, once per product and week)."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from apps.core.progress import progress_bar
from apps.products.models import Product
from apps.rollups.services import report_create_on_demand, reports_send_weekly


class Command(BaseCommand):
    help = ("Build and e-mail last week's fleet report of every product (or --product), as the weekly task "
            "does; with --on-demand, a fresh report of the last --days days instead.")

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--product", metavar="SLUG", help="Only this product.")
        parser.add_argument("--on-demand", action="store_true",
                            help="A new report of the last --days days up to today, not the weekly one.")
        parser.add_argument("--days", type=int, default=7, help="Days covered by --on-demand (default 7).")

    def handle(self, *args: Any, **options: Any) -> None:
        products = Product.objects.order_by("pk")
        if options["product"]:
            products = products.filter(slug=options["product"])
            if not products.exists():
                raise CommandError(f"no product with slug {options['product']!r}")
        if options["days"] < 1:
            raise CommandError("--days must be at least 1")
        now = timezone.now()
        reports = []
        with progress_bar(options, total=products.count(), desc="reports", unit="product") as bar:
            for product in products:
                if options["on_demand"]:
                    reports.append(report_create_on_demand(product=product, now=now, days=options["days"]))
                else:
                    reports.extend(reports_send_weekly(now=now, product_ids=[product.pk]))
                bar.update(1)
        for report in reports:
            sent = f"sent to {report.sent_to.replace(chr(10), ', ')}" if report.sent_at else "not sent (no recipients)"
            self.stdout.write(f"{report.product.slug}: {report.kind} report {report.period_start} to "
                              f"{report.period_end}, {sent}")
        self.stdout.write(self.style.SUCCESS(f"{len(reports)} report(s)."))
