"""Which database a query goes to: the primary, unless a view chose the read replica (docs/scaling.md).

Reads from the replica are opt-in: only views marked with `reads_from_replica` (function views) or
`ReplicaReadsMixin` (DRF views) send their GET reads there, and only when
- a replica is configured (`DATABASE_REPLICA_URL`) and is not the primary's own database;
- it answered its last check and lags at most `DATABASE_REPLICA_MAX_LAG` seconds;
- the client has not written lately: after a successful write by a signed-in user,
  `PrimaryPinMiddleware` sets a signed cookie "on the primary until T" (the pin interval plus the
  replica's lag at the time), so a staff member always reads back their own change.
The choice is made once per request and kept in a context variable the router reads, so one page
never mixes the two databases. A replica that fails during a read is marked down and the view runs
again on the primary: a replica outage never shows as an error page. Writes, transactions
(`atomic` is on the primary) and migrations always go to the primary.
"""

import functools
import time
from collections.abc import Callable, Iterable, Iterator
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, InterfaceError, OperationalError
from django.db.models import Model
from django.http import HttpRequest, HttpResponseBase, StreamingHttpResponse
from rest_framework.response import Response

from .replica import last_replica_status, replica_alias, replica_mark_down, replica_status

PIN_COOKIE = "telemetry_primary_until"
_PIN_SALT = "apps.core.db_router.primary-pin"
_SAFE_METHODS = ("GET", "HEAD")
_UNAVAILABLE = (OperationalError, InterfaceError)

ViewResult = TypeVar("ViewResult", bound=HttpResponseBase)


@dataclass
class _ReplicaReads:
    alias: str | None  # None: this stretch of the request reads from the primary
    failed: bool = False


_reads: ContextVar[_ReplicaReads | None] = ContextVar("replica_reads", default=None)


class ReplicaRouter:
    """Reads where the current view chose (the primary by default); writes and migrations on the primary."""

    def db_for_read(self, model: type[Model], **hints: Any) -> str:
        # Explicit, so that rows read from the replica do not draw their related rows from it after the view.
        reads = _reads.get()
        return reads.alias if reads is not None and reads.alias else DEFAULT_DB_ALIAS

    def db_for_write(self, model: type[Model], **hints: Any) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1: Model, obj2: Model, **hints: Any) -> bool | None:
        # Both aliases hold the same rows: a row read from one may point to a row read from the other.
        known = {DEFAULT_DB_ALIAS, replica_alias() or DEFAULT_DB_ALIAS}
        return True if {obj1._state.db, obj2._state.db} <= known else None

    def allow_migrate(self, db: str, app_label: str, model_name: str | None = None, **hints: Any) -> bool:
        return db == DEFAULT_DB_ALIAS  # the replica replays the primary's migrations


def current_read_alias() -> str:
    """Where reads go at this point of the request."""
    reads = _reads.get()
    return reads.alias if reads is not None and reads.alias else DEFAULT_DB_ALIAS


def pinned_until(request: HttpRequest) -> float:
    """Until when (epoch seconds) this client reads from the primary after its last write; 0 if not pinned."""
    value = request.get_signed_cookie(PIN_COOKIE, default=None, salt=_PIN_SALT)
    try:
        return float(value) if value is not None else 0.0
    except ValueError:
        return 0.0


def replica_for(request: HttpRequest) -> str | None:
    """The alias this request's reads may use, or None for the primary."""
    alias = replica_alias()
    if alias is None or request.method not in _SAFE_METHODS or pinned_until(request) > time.time():
        return None
    return alias if replica_status().usable else None


def _on_replica(chunks: Iterable[Any], alias: str) -> Iterator[Any]:
    """A streamed body is produced after the view returned: each chunk is read where the view read."""
    iterator = iter(chunks)
    while True:
        token = _reads.set(_ReplicaReads(alias))
        try:
            chunk = next(iterator)
        except StopIteration:
            return
        finally:
            _reads.reset(token)
        yield chunk


def replica_reads(request: HttpRequest, view: Callable[[], ViewResult]) -> ViewResult:
    """Run `view` with its reads on the replica when `replica_for` allows; again on the primary if the replica fails."""
    alias = replica_for(request)
    if alias is None:
        return view()
    reads = _ReplicaReads(alias)
    token = _reads.set(reads)
    try:
        response = view()
    except _UNAVAILABLE as exc:
        reads.failed = True
        error = exc.__class__.__name__
    else:
        error = "unavailable during a read"
    finally:
        _reads.reset(token)
    if reads.failed:
        # Read-only work, so running it again is safe. Should the primary be the one that failed,
        # it fails again here and the request answers as it would have without a replica.
        replica_mark_down(error)
        return view()
    if isinstance(response, StreamingHttpResponse) and isinstance(content := response.streaming_content, Iterator):
        response.streaming_content = _on_replica(content, alias)
    return response


def replica_read_failed(exc: Exception) -> None:
    """For views that turn exceptions into answers themselves (DRF): note that the replica read failed."""
    reads = _reads.get()
    if reads is not None and reads.alias and isinstance(exc, _UNAVAILABLE):
        reads.failed = True


class _PrimaryReads:
    """Inside: reads on the primary, whatever the view chose (authentication, sessions, tokens)."""

    def __enter__(self) -> None:
        self._token = _reads.set(_ReplicaReads(None))

    def __exit__(self, *exc_info: object) -> None:
        _reads.reset(self._token)


def primary_reads() -> _PrimaryReads:
    return _PrimaryReads()


def reads_from_replica(view: Callable[..., ViewResult]) -> Callable[..., ViewResult]:
    """Decorate a read-only function view: its GET reads may come from the replica."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> ViewResult:
        # The session and its user are read on the primary: a login seconds old is not on the replica yet.
        user = getattr(request, "user", None)
        if user is not None:
            user.is_authenticated  # noqa: B018  (resolves the lazy user now)
        return replica_reads(request, lambda: view(request, *args, **kwargs))

    return wrapper


class ReplicaReadsMixin:
    """For DRF views: GET and HEAD read from the replica; authentication and permissions from the primary."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        dispatch = super().dispatch  # type: ignore[misc]
        return replica_reads(request, lambda: dispatch(request, *args, **kwargs))

    def initial(self, request: Any, *args: Any, **kwargs: Any) -> None:
        with primary_reads():  # a token or session minted seconds ago is on the primary only
            super().initial(request, *args, **kwargs)  # type: ignore[misc]

    def handle_exception(self, exc: Exception) -> Response:
        replica_read_failed(exc)
        return super().handle_exception(exc)  # type: ignore[misc]


class PrimaryPinMiddleware:
    """After a successful write by a signed-in user, that client's reads stay on the primary for a while."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if (request.method not in _SAFE_METHODS and response.status_code < 400 and replica_alias() is not None
                and getattr(request, "user", None) is not None and request.user.is_authenticated):
            status = last_replica_status()
            # Without a known lag, the longest lag the replica is used with.
            lag = status.lag_seconds if status.lag_seconds is not None else settings.DATABASE_REPLICA_MAX_LAG
            seconds = settings.DATABASE_REPLICA_PIN_SECONDS + lag
            response.set_signed_cookie(PIN_COOKIE, f"{time.time() + seconds:.3f}", salt=_PIN_SALT,
                                       max_age=int(seconds) + 1, httponly=True, samesite="Lax",
                                       secure=settings.SESSION_COOKIE_SECURE)
        return response
