"""Celery tasks for rollups and reports. Arguments are dates as ISO strings and ids; all safe to retry."""

import logging
from datetime import date, timedelta

from celery import shared_task
from django.db import DatabaseError
from django.utils import timezone

from apps.products.models import Product
from apps.rollups.services import days_between, report_create_on_demand, reports_send_weekly, rollups_build

logger = logging.getLogger(__name__)


@shared_task(autoretry_for=(DatabaseError,), retry_backoff=30, max_retries=3)
def build_rollups(first: str | None = None, last: str | None = None) -> int:
    """Recompute rollups for [first, last]; by default yesterday and today (late pings move both)."""
    now = timezone.now()
    last_day = date.fromisoformat(last) if last else now.date()
    first_day = date.fromisoformat(first) if first else last_day - timedelta(days=1)
    built = rollups_build(days=days_between(first_day, last_day), now=now)
    logger.info("rollups: %s product-day(s) built from %s to %s", built, first_day, last_day)
    # Fleet alert rules read these rollups: judge them as soon as the figures are new.
    from apps.alerts.tasks import evaluate_fleet_alerts

    try:
        evaluate_fleet_alerts.delay()
    except Exception:  # the every-minute evaluation judges the rules anyway
        logger.warning("could not enqueue the fleet alert evaluation after the rollups")
    return built


# Retried on any error: a failed e-mail releases its claim, and the weekly report row is unique,
# so a retry neither duplicates the report nor sends it twice.
@shared_task(autoretry_for=(Exception,), retry_backoff=60, max_retries=5)
def send_weekly_reports(product_ids: list[int] | None = None) -> list[int]:
    reports = reports_send_weekly(now=timezone.now(), product_ids=product_ids)
    return [report.pk for report in reports]


@shared_task(autoretry_for=(DatabaseError,), retry_backoff=30, max_retries=3)
def send_report_now(product_id: int, days: int = 7) -> int:
    product = Product.objects.get(pk=product_id)
    return report_create_on_demand(product=product, now=timezone.now(), days=days).pk
