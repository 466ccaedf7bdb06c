"""Group commit: the concurrent requests of one server process share a transaction.

A heartbeat is one small row; committing it alone costs the driver and PostgreSQL several times
what writing the row costs (round trips, planning, a WAL flush per request). So request threads
hand their prepared writes to the process's one writer thread and wait. The writer takes
everything that has queued up, stores it in one transaction (`writes_store`: the writer's
`batches_store`, one set of statements per product) and wakes every request with its own result
only after the commit: nothing is acknowledged before it is durable. No request waits for company: a lone request is
written at once, and the requests that arrive while a commit is in flight form the next group.
(RudderStack's gateway batches its database writes the same way.)

- Requests of one group never overlap (`overlap_keys`: a message id, a heartbeat's
  instance, an install run): an overlapping request waits for the next group, so every request
  gets the counts and answer it would have got alone.
- When a group's transaction fails, the database being unavailable fails every request of it
  (they answer 503 and are retried by their senders); any other error retries each request alone,
  so one bad request cannot fail the others. A request prepared against a product staff changed
  meanwhile (`ProductChanged`) is such an error: stored alone, it fails again, and its view
  prepares it again.
- A request that carries many records (a Segment or PostHog batch: `alone_from` or more) does
  not queue: it stores its write in its own thread and transaction, as it would without group
  commit. It already spreads its commit over its records, and queued behind the process's one
  writer thread it would hold heartbeats up and leave PostgreSQL idle while Python works.
- A request that waits longer than `timeout` gives up (503). Its write is skipped if it is still
  queued; if its group was already being committed it is stored, and a retry then finds it as a
  duplicate, so nothing is stored twice.

Only a threaded server benefits (gunicorn gthread: docker/gunicorn.conf.py). It is switched on by
`TELEMETRY_INGEST_GROUP_COMMIT` (production default); otherwise each request stores its own writes
in its own thread (`writes_store([write])`), as the test suite and `runserver` do.
"""

import logging
import os
import queue
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import InterfaceError, OperationalError, connections

from apps.core.db_health import drop_if_closed_by_server
from apps.ingest.envelope import HEARTBEAT, INSTALL, Envelope
from apps.ingest.writer import Batch, Written, batches_store
from apps.instances.state import InstanceState

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Write:
    """One request's prepared envelopes (all of one product), waiting to be stored."""

    product_id: int
    product_stamp: int  # the product's change stamp the envelopes were prepared with
    envelopes: Sequence[Envelope]
    now: datetime  # when the request arrived


@dataclass(slots=True)
class Stored:
    """What storing one request's write did: its own counts, whatever else shared its transaction."""

    accepted: int = 0  # records stored now
    duplicates: int = 0  # records whose message id was already stored
    dropped: int = 0  # records refused by the collection level or because the instance was erased
    instances: dict[str, InstanceState] = field(default_factory=dict)  # after this request
    erased: set[str] = field(default_factory=set)


def overlap_keys(write: Write) -> set[tuple[int, str, str]]:
    """What two writes of one transaction must not share: a message id, a heartbeat's instance, an install run.

    Writes that share none of these touch different rows (or only read the same instance), so
    storing them together gives each the result it would get alone, in some serial order.
    """
    keys: set[tuple[int, str, str]] = set()
    for e in write.envelopes:
        keys.add((write.product_id, "message", e.message_id))
        if e.kind == HEARTBEAT:
            keys.add((write.product_id, "instance", e.instance_id))
        elif e.kind == INSTALL:
            keys.add((write.product_id, "install", e.install_id))
    return keys


def writes_store(writes: Sequence[Write]) -> list[Stored]:
    """Store non-overlapping writes in one transaction; one `Stored` per write, in order.

    Raises `ProductChanged`, storing nothing, when a write was prepared against an older copy of
    its product than the database holds.
    """
    by_product: dict[int, list[Write]] = {}
    for write in writes:
        by_product.setdefault(write.product_id, []).append(write)
    batches = [Batch(product_id=product_id, stamps=frozenset(write.product_stamp for write in group),
                     envelopes=[e for write in group for e in write.envelopes], now=max(write.now for write in group))
               for product_id, group in by_product.items()]
    written = dict(zip(by_product, batches_store(batches), strict=True))
    return [_outcome(written[write.product_id], write.envelopes) for write in writes]


def _outcome(written: Written, envelopes: Sequence[Envelope]) -> Stored:
    """One request's part of what storing its product's batch did."""
    out = Stored(instances=written.instances, erased=written.erased)
    for e in envelopes:
        if id(e) not in written.kept:
            out.dropped += 1
        elif e.message_id in written.new_ids:
            out.accepted += 1
        else:
            out.duplicates += 1
    return out

StoreFunction = Callable[[Sequence[Write]], list[Stored]]


class GroupCommitTimeout(OperationalError):
    """The writer did not finish a request's write in time (answered like an unavailable database)."""


class _Job:
    __slots__ = ("abandoned", "done", "error", "keys", "result", "write")

    def __init__(self, write: Write) -> None:
        self.write = write
        self.keys = overlap_keys(write)
        self.done = threading.Event()
        self.result: Stored | None = None
        self.error: BaseException | None = None
        self.abandoned = False

    def finish(self, result: Stored | None = None, error: BaseException | None = None) -> None:
        self.result, self.error = result, error
        self.done.set()


_STOP = object()


class GroupCommitter:
    """One writer thread per process; `store` is called from request threads."""

    def __init__(self, *, max_group: int = 200, alone_from: int = 20, timeout: float = 25.0,
                 store: StoreFunction = writes_store) -> None:
        self.max_group = max_group
        self.alone_from = alone_from
        self.timeout = timeout
        self._store = store
        self._lock = threading.Lock()
        self._pid = 0
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def store(self, write: Write) -> Stored:
        """Store one request's write with whatever else is queued; returns after the commit."""
        if len(write.envelopes) >= self.alone_from:
            return self._store([write])[0]
        job = _Job(write)
        self._running_queue().put(job)
        if not job.done.wait(self.timeout):
            job.abandoned = True
            raise GroupCommitTimeout(f"the write was not committed within {self.timeout:g} s")
        if job.error is not None:
            raise job.error
        assert job.result is not None
        return job.result

    def stop(self) -> None:
        """Finish what is queued, close the writer's database connection and end its thread."""
        with self._lock:
            thread, self._thread = self._thread, None
            if thread is None or self._pid != os.getpid():
                return
            self._queue.put(_STOP)
        thread.join()

    def _running_queue(self) -> queue.SimpleQueue:
        # Started on first use, and again in a forked child (a gunicorn worker forked from a
        # master that had already started one would otherwise queue to a thread it does not have).
        if self._thread is None or self._pid != os.getpid():
            with self._lock:
                if self._thread is None or self._pid != os.getpid():
                    self._pid, self._queue = os.getpid(), queue.SimpleQueue()
                    self._thread = threading.Thread(target=self._run, args=(self._queue,),
                                                    name="ingest-group-commit", daemon=True)
                    self._thread.start()
        return self._queue

    def _run(self, jobs: queue.SimpleQueue) -> None:
        carried: list[_Job] = []
        stopping = False
        try:
            while True:
                # Sticky: the stop marker is seen once, and writes carried over past it are still stored.
                group, carried, stop_asked = self._next_group(jobs, carried)
                stopping = stopping or stop_asked
                if group:
                    self._commit(group)
                if stopping and not carried:
                    return
        finally:
            connections.close_all()

    def _next_group(self, jobs: queue.SimpleQueue, carried: list[_Job]) -> tuple[list[_Job], list[_Job], bool]:
        """The jobs carried over first, then what has queued up: (group, carried over, stop asked)."""
        waiting = list(carried)
        if not waiting:
            waiting.append(jobs.get())
        stopping = False
        while len(waiting) < self.max_group:
            try:
                waiting.append(jobs.get_nowait())
            except queue.Empty:
                break
        if _STOP in waiting:
            stopping = True
            waiting = [job for job in waiting if job is not _STOP]
        group: list[_Job] = []
        later: list[_Job] = []
        taken: set[tuple[int, str, str]] = set()
        for job in waiting:
            if job.abandoned:
                continue
            if job.keys.isdisjoint(taken):
                group.append(job)
                taken |= job.keys
            else:
                later.append(job)
        return group, later, stopping

    def _commit(self, group: list[_Job]) -> None:
        drop_if_closed_by_server(connections["default"])
        try:
            results = self._store([job.write for job in group])
        except (OperationalError, InterfaceError) as exc:
            for job in group:
                job.finish(error=exc)
        except Exception as exc:
            if len(group) == 1:
                group[0].finish(error=exc)
            else:
                logger.info("ingest: a group of %d writes failed (%s); storing each alone", len(group), exc)
                for job in group:
                    self._commit([job])
        else:
            for job, result in zip(group, results, strict=True):
                job.finish(result)
        finally:
            # The writer's connection lives as long as the thread: reopen it after an error that
            # broke it, and when CONN_MAX_AGE says it is old, as a request's would be. No health
            # check round trip before each group (CONN_HEALTH_CHECKS): one the server ended while
            # idle is replaced before the group (drop_if_closed_by_server, as for requests).
            db = connections["default"]
            db.close_if_unusable_or_obsolete()
            db.health_check_done = True  # type: ignore[attr-defined]  # Django sets it; the stubs lack it


_committer = GroupCommitter()


def store(write: Write) -> Stored:
    """Store one request's write: through the process's group commit when it is on, else directly.

    Raises `ProductChanged` when nothing was stored because the product changed since the write
    was prepared (the caller prepares it again against the product as it is now).
    """
    if settings.TELEMETRY_INGEST_GROUP_COMMIT:
        return _committer.store(write)
    return writes_store([write])[0]
