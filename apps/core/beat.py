"""Exactly one beat: django-celery-beat's database scheduler, behind a lease.

Every beat process of a deployment may run this scheduler; only the one holding the `beat`
lease (apps/core/services.py) sends tasks. It renews the lease on every tick, well before it
expires. Any other beat is a standby: it logs so, sends nothing, asks again every few seconds,
and takes over once the holder stops renewing (it died, or lost its database) and the lease has
expired, or at once when the holder stopped cleanly and gave the lease up. The lease is a row
taken by one conditional UPDATE, not a session advisory lock: it works through PgBouncer in
transaction mode and on SQLite. Nodes' clocks are assumed synchronised (NTP), as heartbeat
staleness already assumes.
"""

import logging
import os
import secrets
import socket
from typing import Any

from django.conf import settings
from django.db import DatabaseError, close_old_connections
from django.utils import timezone
from django_celery_beat.schedulers import DatabaseScheduler

from apps.core.services import lease_acquire, lease_holder, lease_release

logger = logging.getLogger(__name__)

LEASE = "beat"


class LeaseScheduler(DatabaseScheduler):
    max_interval: float

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self.lease_seconds: int = settings.BEAT_LEASE_SECONDS
        self.leading = False
        self.standby_logged = False
        super().__init__(*args, **kwargs)
        # Renew at least three times per lease, so one slow tick never lets it lapse.
        self.max_interval = min(self.max_interval, self.lease_seconds / 3)
        # Record each sent task's last run at once: a beat taking over reads it and does not send
        # again what its predecessor sent just before it died.
        self.sync_every_tasks = 1

    def tick(self, *args: Any, **kwargs: Any) -> float:
        if not self.hold():
            return self.max_interval
        return min(super().tick(*args, **kwargs), self.max_interval)

    def hold(self) -> bool:
        """Take or renew the lease; True while this beat is the one that sends tasks."""
        now = timezone.now()
        try:
            close_old_connections()
            holding = lease_acquire(name=LEASE, holder=self.holder, now=now, seconds=self.lease_seconds)
        except DatabaseError as exc:
            # Without the database nobody can renew: the lease runs out everywhere alike.
            logger.warning("beat: the lease cannot be checked (%s); sending nothing", exc)
            holding = False
        if holding and not self.leading:
            logger.info("beat: %s holds the lease; scheduling", self.holder)
            # Another beat may have run the schedule meanwhile: read every entry's last run again.
            self._initial_read = True
            self._heap = None
            self.standby_logged = False
        elif not holding and (self.leading or not self.standby_logged):
            logger.info("beat: standby, another beat holds the lease (%s); sending nothing",
                        self._current_holder(now) or "unknown")
            self.standby_logged = True
        self.leading = holding
        return holding

    def _current_holder(self, now: Any) -> str | None:
        try:
            return lease_holder(name=LEASE, now=now)
        except DatabaseError:
            return None

    def close(self) -> None:
        super().close()
        if self.leading:
            try:
                lease_release(name=LEASE, holder=self.holder, now=timezone.now())
            except DatabaseError as exc:
                logger.warning("beat: the lease could not be given up (%s); it expires by itself", exc)
            self.leading = False
