"""The rollup and report tasks call the same services as the commands, with the defaults beat uses."""

from datetime import UTC, date, datetime

import pytest
import time_machine
from django.core import mail

from apps.products.models import Product
from apps.rollups.models import DailyRollup, Report
from apps.rollups.tasks import build_rollups, send_report_now, send_weekly_reports

NOW = datetime(2024, 3, 11, 6, 30, tzinfo=UTC)  # a Monday


@pytest.mark.django_db
def test_build_rollups_task_defaults_to_yesterday_and_today(product: Product) -> None:
    with time_machine.travel(NOW, tick=False):
        assert build_rollups.apply().get() == 2
        assert build_rollups.apply(kwargs={"first": "2024-03-01", "last": "2024-03-03"}).get() == 3
    assert sorted(DailyRollup.objects.values_list("day", flat=True)) == [
        date(2024, 3, 1), date(2024, 3, 2), date(2024, 3, 3), date(2024, 3, 10), date(2024, 3, 11)]


@pytest.mark.django_db
def test_report_tasks(product: Product) -> None:
    product.report_recipients = "ops@example.com"
    product.save()
    with time_machine.travel(NOW, tick=False):
        [weekly] = send_weekly_reports.apply().get()
        assert send_weekly_reports.apply().get() == [weekly]  # once per week
        on_demand = send_report_now.apply(args=(product.pk,), kwargs={"days": 2}).get()
    assert list(Report.objects.order_by("pk").values_list("pk", "kind", "period_start", "period_end")) == [
        (weekly, "weekly", date(2024, 3, 4), date(2024, 3, 10)),
        (on_demand, "on_demand", date(2024, 3, 10), date(2024, 3, 11)),
    ]
    assert len(mail.outbox) == 2
