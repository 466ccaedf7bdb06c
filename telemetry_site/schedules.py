"""Every periodic job, in one place. `manage.py setup_schedules` loads them into django-celery-beat's
database scheduler, where staff can see, pause and run them from the admin.

Each entry: name → task path, crontab fields (UTC), and how long a queued run stays worth running.
"""

from typing import TypedDict


class Schedule(TypedDict):
    task: str
    crontab: dict[str, str]
    expires_seconds: int


SCHEDULES: dict[str, Schedule] = {}
