"""Unlocking a username that django-axes locked: axes keeps only its keyed hash (apps/accounts/client.py)."""

from axes.utils import reset

from .client import username_hash


def login_unlock(*, username: str) -> int:
    """Forget the failed logins of `username`; returns how many records were cleared."""
    return reset(username=username_hash(username))
