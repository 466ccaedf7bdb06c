"""Fleet reports from rollup rows created directly: exact content, body, e-mail once, retries."""

from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.core.management import CommandError, call_command

from apps.events.models import Event
from apps.instances.models import Instance
from apps.products.models import Product
from apps.rollups.models import DailyBreakdown, DailyRollup, Report
from apps.rollups.services import last_full_week, reports_send_weekly

MONDAY = datetime(2024, 3, 11, 6, 30, tzinfo=UTC)
WEEK_START = date(2024, 3, 4)


@pytest.fixture
def rollups(product: Product) -> Product:
    product.report_recipients = "ops@example.com\n ceo@example.com \n"
    product.save()
    current = [10, 12, 11, 13, 12, 14, 12]
    for offset, active in enumerate(current):
        day = WEEK_START + timedelta(days=offset)
        DailyRollup.objects.create(
            product=product, day=day, active_instances=active, new_instances=1, heartbeats=100, events=50,
            stale_instances=2 if offset == 1 else 0, dead_instances=1 if offset == 2 else 0,
            resurrected_instances=1 if offset == 3 else 0, installs_started=5 if offset == 0 else 0,
            installs_succeeded=4 if offset == 0 else 0, installs_failed=1 if offset == 6 else 0,
            opt_outs=offset, computed_at=MONDAY)
        DailyRollup.objects.create(product=product, day=day - timedelta(days=7), active_instances=10,
                                   computed_at=MONDAY)
    last = WEEK_START + timedelta(days=6)
    for dimension, key, n in [("version", "1.9", 9), ("version", "1.8", 3), ("license_type", "", 10),
                              ("license_type", "enterprise", 2), ("os", "linux", 12), ("country", "DE", 9),
                              ("country", "", 3)]:
        DailyBreakdown.objects.create(product=product, day=last, dimension=dimension, key=key, count=n, instances=n)
    # An earlier day of the week with other versions: the report shows the latest day's snapshot.
    DailyBreakdown.objects.create(product=product, day=last - timedelta(days=1), dimension="version", key="1.8",
                                  count=12, instances=12)
    return product


EXPECTED_CONTENT = {
    "product": {"slug": "appsmith", "name": "Appsmith"},
    "period": {"start": "2024-03-04", "end": "2024-03-10", "days": 7},
    "active_instances": {"average": 12.0, "peak": 14, "previous_average": 10.0, "change": 2.0,
                         "change_percent": 20.0},
    "new_instances": 7,
    "installs": {"started": 5, "succeeded": 4, "failed": 1, "support": 0, "success_rate": 80.0},
    "instances_gone_stale": 2,
    "instances_gone_dead": 1,
    "instances_resurrected": 1,
    "heartbeats": 700,
    "events": 350,
    "opt_outs": 21,
    "snapshot_day": "2024-03-10",
    "versions": [{"version": "1.9", "instances": 9, "share": 75.0},
                 {"version": "1.8", "instances": 3, "share": 25.0}],
    "licences": [{"type": "unknown", "instances": 10, "share": 83.3},
                 {"type": "enterprise", "instances": 2, "share": 16.7}],
    "countries": [{"country": "DE", "instances": 9, "share": 75.0},
                  {"country": "unknown", "instances": 3, "share": 25.0}],
}
EXPECTED_BODY = """\
Appsmith: fleet report 2024-03-04 to 2024-03-10

Active instances (daily average): 12.0 (previous period 10.0, change +2.0 / +20.0%); peak 14
New instances: 7
Installs: 5 started, 4 succeeded, 1 failed, 0 asked for support; success rate 80.0%
Gone stale: 2; gone dead: 1; came back: 1
Heartbeats: 700; events: 350
Opt-outs (installations with telemetry off): 21

Versions (as of 2024-03-10):
  1.9: 9 (75.0%)
  1.8: 3 (25.0%)
Licences:
  unknown: 10 (83.3%)
  enterprise: 2 (16.7%)
Countries:
  DE: 9 (75.0%)
  unknown: 3 (25.0%)
"""


def test_last_full_week_is_monday_to_sunday_before_now() -> None:
    for now in (MONDAY, datetime(2024, 3, 17, 23, 59, tzinfo=UTC)):
        period = last_full_week(now)
        assert (period.start, period.end) == (WEEK_START, date(2024, 3, 10)), now
    assert last_full_week(datetime(2024, 3, 18, tzinfo=UTC)).start == date(2024, 3, 11)


@pytest.mark.django_db
def test_weekly_report_content_body_and_email(rollups: Product) -> None:
    [report] = reports_send_weekly(now=MONDAY)

    report.refresh_from_db()
    assert (report.kind, report.period_start, report.period_end) == ("weekly", WEEK_START, date(2024, 3, 10))
    assert report.content == EXPECTED_CONTENT
    assert report.body == EXPECTED_BODY
    assert (report.sent_at, report.sent_to) == (MONDAY, "ops@example.com\nceo@example.com")
    [message] = mail.outbox
    assert message.subject == "[Appsmith] fleet report 2024-03-04 to 2024-03-10"
    assert message.to == ["ops@example.com", "ceo@example.com"]
    assert message.from_email == "telemetry@localhost"
    assert message.body == EXPECTED_BODY


@pytest.mark.django_db
def test_weekly_report_is_stored_and_sent_once(rollups: Product) -> None:
    reports_send_weekly(now=MONDAY)
    reports_send_weekly(now=MONDAY + timedelta(hours=1))
    assert Report.objects.count() == 1
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_without_recipients_the_report_is_stored_but_not_sent(rollups: Product) -> None:
    rollups.report_recipients = ""
    rollups.save()
    [report] = reports_send_weekly(now=MONDAY)
    assert Report.objects.get().sent_at is None
    assert report.content == EXPECTED_CONTENT
    assert mail.outbox == []


@pytest.mark.django_db
def test_a_failed_email_is_retried_by_the_next_run(rollups: Product, monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise ConnectionRefusedError("smtp down")

    monkeypatch.setattr("apps.rollups.services.reports.send_mail", refuse)
    with pytest.raises(ConnectionRefusedError):
        reports_send_weekly(now=MONDAY)
    assert Report.objects.get().sent_at is None
    monkeypatch.undo()
    reports_send_weekly(now=MONDAY + timedelta(minutes=1))
    assert Report.objects.get().sent_at == MONDAY + timedelta(minutes=1)
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_an_empty_week_still_reports_zeros(product: Product) -> None:
    [report] = reports_send_weekly(now=MONDAY)
    assert report.content["active_instances"] == {"average": 0.0, "peak": 0, "previous_average": 0.0,
                                                  "change": 0.0, "change_percent": None}
    assert report.content["installs"]["success_rate"] is None
    assert report.content["versions"] == [] and report.content["snapshot_day"] is None
    assert "success rate n/a" in report.body


@pytest.mark.django_db
def test_command_sends_the_weekly_report_of_one_product(rollups: Product, make_product,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    make_product("hasura", report_recipients="hasura@example.com")
    with time_machine.travel(MONDAY, tick=False):
        call_command("send_reports", "--product", "appsmith", verbosity=0)
        call_command("send_reports", "--product", "appsmith", verbosity=0)
    assert list(Report.objects.values_list("product__slug", "kind")) == [("appsmith", "weekly")]
    assert [m.to for m in mail.outbox] == [["ops@example.com", "ceo@example.com"]]
    assert "appsmith: weekly report 2024-03-04 to 2024-03-10, sent to ops@example.com, ceo@example.com" in (
        capsys.readouterr().out)
    with pytest.raises(CommandError, match="nope"):
        call_command("send_reports", "--product", "nope")


@pytest.mark.django_db
def test_on_demand_report_refreshes_todays_rollups(product: Product) -> None:
    product.report_recipients = "ops@example.com"
    product.save()
    now = datetime(2024, 3, 13, 15, 0, tzinfo=UTC)
    instance = Instance.objects.create(product=product, instance_id="x", first_seen=now - timedelta(hours=3),
                                       last_seen=now - timedelta(hours=1), version="2.0")
    for n, hours in enumerate((3, 1)):
        Event.objects.create(product=product, instance=instance, kind="heartbeat", name="FETCH_RELEASE_NOTES",
                             message_id=f"m{n}", timestamp=now - timedelta(hours=hours), received_at=now)
    with time_machine.travel(now, tick=False):
        call_command("send_reports", "--product", "appsmith", "--on-demand", "--days", "3", verbosity=0)
        call_command("send_reports", "--product", "appsmith", "--on-demand", "--days", "3", verbosity=0)
    reports = list(Report.objects.all())
    assert [(r.kind, r.period_start, r.period_end) for r in reports] == [
        ("on_demand", date(2024, 3, 11), date(2024, 3, 13))] * 2
    content = reports[0].content
    assert content["active_instances"]["average"] == round(1 / 3, 1)
    assert (content["new_instances"], content["heartbeats"]) == (1, 2)
    assert content["versions"] == [{"version": "2.0", "instances": 1, "share": 100.0}]
    assert len(mail.outbox) == 2
