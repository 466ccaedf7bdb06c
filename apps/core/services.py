"""Leases: a role that one process of the whole deployment plays at a time (apps/core/beat.py)."""

from datetime import datetime, timedelta

from django.db.models import Q

from apps.core.models import Lease


def lease_acquire(*, name: str, holder: str, now: datetime, seconds: int) -> bool:
    """Take or renew the lease `name` for `seconds` from `now`; False while another holder's runs.

    One conditional UPDATE decides it, so two processes asking at once can never both win.
    """
    expires_at = now + timedelta(seconds=seconds)
    if Lease.objects.filter(Q(holder=holder) | Q(expires_at__lte=now), name=name).update(
            holder=holder, expires_at=expires_at):
        return True
    _, created = Lease.objects.get_or_create(name=name, defaults={"holder": holder, "expires_at": expires_at})
    return created


def lease_release(*, name: str, holder: str, now: datetime) -> None:
    """Give the lease up at once (a clean stop), so a standby need not wait for it to expire."""
    Lease.objects.filter(name=name, holder=holder).update(expires_at=now)


def lease_holder(*, name: str, now: datetime) -> str | None:
    lease = Lease.objects.filter(name=name).first()
    return lease.holder if lease is not None and lease.is_held(now) else None
