"""Every periodic job, in one place. `manage.py setup_schedules` loads them into django-celery-beat's
database scheduler, where staff can see, pause and run them from the admin.

Each entry: name → task path, crontab fields (UTC), and how long a queued run stays worth running.
An expiry shorter than the gap to the next run means a backlog (worker down for a while) is
dropped instead of running the same job many times in a row when the worker comes back.
"""

from typing import TypedDict


class Schedule(TypedDict):
    task: str
    crontab: dict[str, str]
    expires_seconds: int


SCHEDULES: dict[str, Schedule] = {
    # Stale/dead transitions are dated by last_seen + threshold, so the cadence only decides how
    # soon staff see them, never what is recorded.
    "check-heartbeats": {
        "task": "apps.instances.tasks.check_heartbeats",
        "crontab": {"minute": "*/5"},
        "expires_seconds": 4 * 60,
    },
    # Status changes into alerts (each claimed once), fleet rules, and re-sending deliveries whose task
    # was lost. Every minute so an instance coming back resolves its alert soon; a run is a few queries.
    "evaluate-alerts": {
        "task": "apps.alerts.tasks.evaluate_alerts",
        "crontab": {"minute": "*"},
        "expires_seconds": 50,
    },
    # Today's and yesterday's rollups, recomputed (replaced) every hour: late pings land in both.
    "build-rollups": {
        "task": "apps.rollups.tasks.build_rollups",
        "crontab": {"minute": "7"},
        "expires_seconds": 50 * 60,
    },
    # Day partitions of the events table, a week ahead; hourly so a missed run costs nothing.
    "ensure-event-partitions": {
        "task": "apps.events.tasks.ensure_partitions",
        "crontab": {"minute": "41"},
        "expires_seconds": 50 * 60,
    },
    # Drops the day partitions past every product's retention, then deletes in bounded batches.
    "purge-expired-events": {
        "task": "apps.events.tasks.purge_expired",
        "crontab": {"minute": "23", "hour": "3"},
        "expires_seconds": 6 * 3600,
    },
    # Monday morning, after the 00:07 to 06:07 rollup runs have settled Sunday's figures.
    "send-weekly-reports": {
        "task": "apps.rollups.tasks.send_weekly_reports",
        "crontab": {"minute": "30", "hour": "6", "day_of_week": "1"},
        "expires_seconds": 12 * 3600,
    },
}
