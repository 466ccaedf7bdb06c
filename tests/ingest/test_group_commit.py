"""Group commit (issue 7): several requests' writes stored in one transaction, each told its own counts.

`writes_store` and `overlap_keys` on their own; `GroupCommitter` with a fake store (grouping,
overlap deferral, failure isolation, timeout, stop) and with the real one, from threads; the
ingest endpoint with `TELEMETRY_INGEST_GROUP_COMMIT` on; `sql.rows_cte` on both databases.
"""

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db import InterfaceError, OperationalError
from django.test import override_settings

from apps.events.models import Event
from apps.ingest import group_commit, pipeline, protocols
from apps.ingest.envelope import EVENT, HEARTBEAT, INSTALL, Envelope
from apps.ingest.group_commit import GroupCommitter, GroupCommitTimeout, Stored, Write, overlap_keys, writes_store
from apps.ingest.product_cache import product_for_key
from apps.instances.models import Instance
from apps.products.models import Product

from .conftest import NOW, SENDER, Post

DEADLINE = 30.0  # seconds a test waits for something that should happen at once, before it fails


def wait_until(condition: Callable[[], bool], what: str) -> None:
    """Poll until `condition` holds; a failure (not a hang) when it never does."""
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"never happened: {what}")
        time.sleep(0.001)


def stop_within_deadline(committer: GroupCommitter) -> None:
    """`committer.stop()`, failing the test instead of hanging when the writer thread does not end."""
    writer = committer._thread
    stopper = threading.Thread(target=committer.stop, name="test-stopper", daemon=True)
    stopper.start()
    stopper.join(DEADLINE)
    assert not stopper.is_alive(), "stop() did not return"
    assert committer._thread is None
    assert writer is None or not writer.is_alive()


def prepared_write(product: Product, body: Any, *, received_at: datetime, ip: str = SENDER) -> Write:
    """A request's write, built the way the ingest view builds it (native protocol)."""
    info = product_for_key(product.ingest_key)
    assert info is not None
    parsed = protocols.parse("native", body, rules=info.rules)
    prepared = pipeline.prepare(parsed, received_at=received_at, request_ip=ip)
    assert not prepared.errors
    return Write(product_id=product.pk, product_stamp=info.stamp, envelopes=prepared.envelopes, now=received_at)


def heartbeat(instance_id: str, message_id: str, **fields: Any) -> dict[str, Any]:
    return {"type": "heartbeat", "instance_id": instance_id, "message_id": message_id, **fields}


def event(message_id: str, instance_id: str = "", **fields: Any) -> dict[str, Any]:
    return {"type": "event", "event": "clicked", "message_id": message_id, "instance_id": instance_id, **fields}


# --- writes_store: several requests in one transaction ------------------------------------------------------


@pytest.mark.django_db
def test_writes_store_gives_each_write_its_own_counts(appsmith: Product, hasura: Product) -> None:
    earlier = NOW - timedelta(hours=1)
    writes_store([prepared_write(appsmith, [
        heartbeat("i-2", "old", timestamp="2024-01-10T10:59:00Z", version="1.0"),
        heartbeat("i-9", "i9-first", timestamp="2024-01-10T10:59:00Z", version="1.0"),
    ], received_at=earlier)])
    Instance.objects.filter(product=appsmith, instance_id="i-9").update(collection="heartbeat")
    t1, t2, t3, t4 = (NOW + timedelta(seconds=n) for n in range(4))

    one = prepared_write(appsmith, [heartbeat("i-1", "a1", timestamp="2024-01-10T11:58:00Z", version="2.0"),
                                    event("a2", "i-1", timestamp="2024-01-10T11:58:30Z")], received_at=t1)
    two = prepared_write(appsmith, [heartbeat("i-2", "old", timestamp="2024-01-10T10:59:00Z", version="1.0"),
                                    heartbeat("i-2", "b1", timestamp="2024-01-10T11:59:00Z", version="2.1"),
                                    heartbeat("i-3", "b2", timestamp="2024-01-10T11:59:10Z")], received_at=t2)
    # Another product: the same message id and instance id are its own.
    three = prepared_write(hasura, [heartbeat("i-1", "a1", timestamp="2024-01-10T11:57:00Z", version="v9")],
                           received_at=t3)
    # i-9 collects heartbeats only: its event is dropped, its heartbeat kept without properties.
    four = prepared_write(appsmith, [heartbeat("i-9", "d1", timestamp="2024-01-10T11:59:30Z", version="1.5"),
                                     event("d2", "i-9", properties={"x": 1})], received_at=t4)
    writes = [one, two, three, four]
    assert all(overlap_keys(a).isdisjoint(overlap_keys(b)) for a in writes for b in writes if a is not b)

    stored = writes_store(writes)

    assert [(s.accepted, s.duplicates, s.dropped) for s in stored] == [(2, 0, 0), (2, 1, 0), (1, 0, 0), (1, 0, 1)]
    assert stored[0].instances["i-1"].version == "2.0"
    assert stored[2].instances["i-1"].version == "v9"
    assert stored[3].instances["i-9"].collection == "heartbeat"
    rows = {(product_id, message_id): received_at for product_id, message_id, received_at in
            Event.objects.values_list("product_id", "message_id", "received_at")}
    assert rows == {
        (appsmith.pk, "old"): earlier, (appsmith.pk, "i9-first"): earlier,
        (appsmith.pk, "a1"): t1, (appsmith.pk, "a2"): t1,
        (appsmith.pk, "b1"): t2, (appsmith.pk, "b2"): t2,
        (hasura.pk, "a1"): t3,
        (appsmith.pk, "d1"): t4,
    }
    a2 = Event.objects.get(product=appsmith, message_id="a2")
    assert a2.instance == Instance.objects.get(product=appsmith, instance_id="i-1")
    assert Event.objects.get(product=appsmith, message_id="d1").properties == {}

    instances = {(i.product_id, i.instance_id): i for i in Instance.objects.all()}
    assert {key: (i.heartbeat_count, i.version, i.dropped_count) for key, i in instances.items()} == {
        (appsmith.pk, "i-1"): (1, "2.0", 0),
        (appsmith.pk, "i-2"): (2, "2.1", 0),  # "old" was a retry: counted once, in the earlier request
        (appsmith.pk, "i-3"): (1, "", 0),
        (appsmith.pk, "i-9"): (2, "1.5", 1),
        (hasura.pk, "i-1"): (1, "v9", 0),
    }
    assert instances[appsmith.pk, "i-2"].last_seen == datetime(2024, 1, 10, 11, 59, tzinfo=UTC)
    assert instances[appsmith.pk, "i-3"].last_seen == datetime(2024, 1, 10, 11, 59, 10, tzinfo=UTC)
    assert instances[hasura.pk, "i-1"].last_seen == datetime(2024, 1, 10, 11, 57, tzinfo=UTC)


@pytest.mark.django_db
def test_writes_store_matches_storing_each_write_alone(appsmith: Product, hasura: Product) -> None:
    """The same requests, once grouped (appsmith) and once one by one (hasura), leave the same rows."""

    def requests(product: Product) -> list[Write]:
        return [prepared_write(product, body, received_at=NOW + timedelta(seconds=n)) for n, body in enumerate([
            [heartbeat("i-1", "m-1", timestamp="2024-01-10T11:00:00Z", version="1.0", license={"id": "L1"})],
            [heartbeat("i-2", "m-2", timestamp="2024-01-10T11:01:00Z", version="1.1", metrics={"cpu": 2}),
             event("m-3", "i-2")],
            [{"type": "install", "install_id": "run-1", "step": "started", "message_id": "m-4"}],
            [event("m-5", "i-1")],
        ])]

    grouped = writes_store(requests(appsmith))
    alone = [writes_store([write])[0] for write in requests(hasura)]

    def counts(stored: list[Stored]) -> list[tuple[int, int, int]]:
        return [(s.accepted, s.duplicates, s.dropped) for s in stored]

    def rows(product: Product) -> list[tuple[Any, ...]]:
        return [*Instance.objects.filter(product=product).order_by("instance_id").values_list(
                    "instance_id", "heartbeat_count", "version", "status", "first_seen", "last_seen", "metrics",
                    "license__license_id"),
                *Event.objects.filter(product=product).order_by("message_id").values_list(
                    "message_id", "instance__instance_id", "kind", "timestamp", "received_at")]

    assert counts(grouped) == counts(alone) == [(1, 0, 0), (2, 0, 0), (1, 0, 0), (1, 0, 0)]
    assert rows(appsmith) == rows(hasura)
    assert len(rows(appsmith)) == 2 + 5


# --- overlap_keys --------------------------------------------------------------------------------------------


def envelope_write(label: str, *records: tuple[str, str, str], product_id: int = 1) -> Write:
    """A write whose envelopes are (kind, message id, instance or install id); every envelope is named `label`."""
    envelopes = [Envelope(kind=kind, name=label, message_id=message_id,
                          instance_id=other if kind != INSTALL else "", install_id=other if kind == INSTALL else "")
                 for kind, message_id, other in records]
    return Write(product_id=product_id, product_stamp=0, envelopes=envelopes, now=NOW)


def overlap(a: Write, b: Write) -> bool:
    return not overlap_keys(a).isdisjoint(overlap_keys(b))


def test_overlap_keys() -> None:
    hb = envelope_write("hb", (HEARTBEAT, "m-1", "i-1"))
    assert overlap(hb, envelope_write("same message", (EVENT, "m-1", "")))
    assert overlap(hb, envelope_write("same instance", (HEARTBEAT, "m-2", "i-1")))
    assert overlap(hb, envelope_write("batch", (EVENT, "m-7", ""), (HEARTBEAT, "m-8", "i-1")))
    assert overlap(envelope_write("install", (INSTALL, "m-3", "run-1")),
                   envelope_write("same run", (INSTALL, "m-4", "run-1")))

    assert not overlap(hb, envelope_write("other instance", (HEARTBEAT, "m-2", "i-2")))
    assert not overlap(hb, envelope_write("other product", (HEARTBEAT, "m-1", "i-1"), product_id=2))
    # An event only names its instance (it never updates the row): no overlap.
    assert not overlap(hb, envelope_write("event of i-1", (EVENT, "m-5", "i-1")))
    assert not overlap(envelope_write("install", (INSTALL, "m-3", "run-1")),
                       envelope_write("other run", (INSTALL, "m-4", "run-2")))


# --- GroupCommitter with a fake store (no database) ---------------------------------------------------------


def label(write: Write) -> str:
    return write.envelopes[0].name


class FakeStore:
    """Records the groups it is handed (by label); waits for `gate`; fails groups that `fail` says to."""

    def __init__(self, fail: Callable[[Sequence[Write]], BaseException | None] | None = None) -> None:
        self.fail = fail
        self.groups: list[list[str]] = []
        self.results: dict[str, Stored] = {}
        self.entered = threading.Event()
        self.gate = threading.Event()
        self._lock = threading.Lock()

    def __call__(self, writes: Sequence[Write]) -> list[Stored]:
        with self._lock:
            self.groups.append([label(w) for w in writes])
        self.entered.set()
        if not self.gate.wait(DEADLINE):
            raise RuntimeError("the test never opened the gate")
        error = self.fail(writes) if self.fail else None
        if error is not None:
            raise error
        results = [Stored(accepted=len(w.envelopes)) for w in writes]
        with self._lock:
            self.results.update((label(w), result) for w, result in zip(writes, results, strict=True))
        return results


Rig = Callable[..., tuple[GroupCommitter, FakeStore]]


@pytest.fixture
def rig() -> Iterator[Rig]:
    """`rig(fail=..., **committer_options)`: a committer on a fake store; both wound up at teardown."""
    made: list[tuple[GroupCommitter, FakeStore]] = []

    def make(*, fail: Callable[[Sequence[Write]], BaseException | None] | None = None,
             **options: Any) -> tuple[GroupCommitter, FakeStore]:
        store = FakeStore(fail)
        committer = GroupCommitter(store=store, **options)
        made.append((committer, store))
        return committer, store

    yield make
    for committer, store in made:
        store.gate.set()
        stop_within_deadline(committer)


@pytest.fixture
def pool() -> Iterator[ThreadPoolExecutor]:
    with ThreadPoolExecutor(max_workers=16, thread_name_prefix="test-caller") as executor:
        yield executor


def queue_behind_first(committer: GroupCommitter, store: FakeStore, pool: ThreadPoolExecutor,
                       writes: Sequence[Write]) -> list[Future[Stored]]:
    """Hold the writer in its first group, then queue `writes` in this order (so the next groups are known)."""
    futures = [pool.submit(committer.store, envelope_write("first", (EVENT, "first", "")))]
    wait_until(store.entered.is_set, "the first group reached the store")
    for n, write in enumerate(writes, start=1):
        futures.append(pool.submit(committer.store, write))

        def queued(count: int = n) -> bool:
            return committer._queue.qsize() == count

        wait_until(queued, f"write {n} queued")
    return futures


def test_concurrent_callers_each_get_their_own_result(rig: Rig) -> None:
    committer, store = rig()
    writes = [envelope_write(f"w{n}", (HEARTBEAT, f"m-{n}", f"i-{n % 5}"), (EVENT, f"e-{n}", ""))
              for n in range(40)]
    start = threading.Barrier(len(writes))

    def call(write: Write) -> tuple[str, Stored]:
        start.wait(DEADLINE)
        return label(write), committer.store(write)

    store.gate.set()
    with ThreadPoolExecutor(max_workers=len(writes)) as callers:
        answers = list(callers.map(call, writes))

    for name, result in answers:
        assert result is store.results[name]
    assert sorted(name for group in store.groups for name in group) == sorted(label(w) for w in writes)
    by_label = {label(w): w for w in writes}
    for group in store.groups:
        keys = [overlap_keys(by_label[name]) for name in group]
        assert all(a.isdisjoint(b) for i, a in enumerate(keys) for b in keys[i + 1:]), group


def test_a_large_write_is_stored_in_its_callers_thread_and_a_small_one_by_the_writer(
        rig: Rig, pool: ThreadPoolExecutor) -> None:
    committer, store = rig(alone_from=3)
    threads: dict[str, str] = {}
    record = store.__call__

    def store_noting_thread(writes: Sequence[Write]) -> list[Stored]:
        threads[label(writes[0])] = threading.current_thread().name
        return record(writes)

    committer._store = store_noting_thread
    store.gate.set()
    small = pool.submit(committer.store, envelope_write("small", (EVENT, "s-1", ""), (EVENT, "s-2", "")))
    batch = pool.submit(committer.store, envelope_write("batch", *[(EVENT, f"b-{n}", "") for n in range(3)]))

    assert batch.result(DEADLINE).accepted == 3
    assert small.result(DEADLINE).accepted == 2
    assert threads == {"batch": threads["batch"], "small": "ingest-group-commit"}
    assert threads["batch"].startswith("test-caller")  # its own thread, so its own transaction
    assert ["batch"] in store.groups


def test_overlapping_writes_wait_for_a_later_group(rig: Rig, pool: ThreadPoolExecutor) -> None:
    committer, store = rig()
    writes = [
        envelope_write("hb i-1", (HEARTBEAT, "a", "i-1")),
        envelope_write("hb i-1 again", (HEARTBEAT, "b", "i-1")),  # same instance as the first
        envelope_write("retry of a", (EVENT, "a", "")),  # same message id as the first
        envelope_write("hb i-2", (HEARTBEAT, "c", "i-2")),
        envelope_write("event of i-1", (EVENT, "d", "i-1")),
        envelope_write("other product", (HEARTBEAT, "a", "i-1"), product_id=2),
        envelope_write("hb i-2 again", (HEARTBEAT, "e", "i-2")),
    ]
    futures = queue_behind_first(committer, store, pool, writes)
    store.gate.set()
    results = [future.result(DEADLINE) for future in futures]

    assert store.groups == [
        ["first"],
        ["hb i-1", "hb i-2", "event of i-1", "other product"],
        ["hb i-1 again", "retry of a", "hb i-2 again"],
    ]
    assert [result is store.results[name] for result, name in zip(results, ["first", *map(label, writes)],
                                                                       strict=True)] == [True] * 8


def test_a_failing_write_fails_only_its_own_caller(rig: Rig, pool: ThreadPoolExecutor) -> None:
    def fail(writes: Sequence[Write]) -> BaseException | None:
        return ValueError("bad write") if any(label(w) == "bad" for w in writes) else None

    committer, store = rig(fail=fail)
    writes = [envelope_write(name, (EVENT, name, "")) for name in ("good 1", "bad", "good 2")]
    first, good1, bad, good2 = queue_behind_first(committer, store, pool, writes)
    store.gate.set()

    assert first.result(DEADLINE).accepted == 1
    assert good1.result(DEADLINE) is store.results["good 1"]
    assert good2.result(DEADLINE) is store.results["good 2"]
    with pytest.raises(ValueError, match="bad write"):
        bad.result(DEADLINE)
    # The group failed as a whole, then each of its writes was stored alone.
    assert store.groups == [["first"], ["good 1", "bad", "good 2"], ["good 1"], ["bad"], ["good 2"]]
    assert "bad" not in store.results


@pytest.mark.parametrize("error", [OperationalError("server closed the connection"), InterfaceError("closed")])
def test_an_unavailable_database_fails_the_whole_group(rig: Rig, pool: ThreadPoolExecutor,
                                                       error: Exception) -> None:
    committer, store = rig(fail=lambda writes: error if any(label(w) == "bad" for w in writes) else None)
    writes = [envelope_write(name, (EVENT, name, "")) for name in ("good 1", "bad", "good 2")]
    first, *grouped = queue_behind_first(committer, store, pool, writes)
    store.gate.set()

    assert first.result(DEADLINE) is store.results["first"]
    for future in grouped:
        with pytest.raises(type(error)) as raised:
            future.result(DEADLINE)
        assert raised.value is error
    assert store.groups == [["first"], ["good 1", "bad", "good 2"]]  # not retried: the senders retry
    # The writer goes on with the next group.
    assert committer.store(envelope_write("later", (EVENT, "later", ""))) is store.results["later"]


def test_a_write_not_committed_in_time_times_out(rig: Rig) -> None:
    committer, store = rig(timeout=0.2)
    with pytest.raises(GroupCommitTimeout) as raised:
        committer.store(envelope_write("slow", (EVENT, "slow", "")))
    assert isinstance(raised.value, OperationalError)  # answered 503, like an unavailable database
    wait_until(store.entered.is_set, "the slow write reached the store")
    # Queued behind it and given up on before the writer got to it: never stored.
    with pytest.raises(GroupCommitTimeout):
        committer.store(envelope_write("abandoned", (EVENT, "abandoned", "")))

    committer.timeout = DEADLINE
    store.gate.set()
    assert committer.store(envelope_write("after", (EVENT, "after", ""))) is store.results["after"]
    assert store.groups == [["slow"], ["after"]]
    assert set(store.results) == {"slow", "after"}  # the write already in flight was still stored


def test_stop_finishes_queued_writes_and_ends_the_thread(rig: Rig, pool: ThreadPoolExecutor) -> None:
    committer, store = rig()
    writes = [envelope_write("a", (HEARTBEAT, "a", "i-1")), envelope_write("b", (HEARTBEAT, "b", "i-2"))]
    futures = queue_behind_first(committer, store, pool, writes)
    writer = committer._thread
    assert writer is not None and writer.is_alive()

    stopping = pool.submit(committer.stop)
    wait_until(lambda: committer._queue.qsize() == len(writes) + 1, "stop queued behind the writes")
    store.gate.set()
    stopping.result(DEADLINE)

    assert not writer.is_alive()
    assert committer._thread is None
    assert all(future.result(DEADLINE) is store.results[name] for future, name in zip(futures, ("first", "a", "b"),
                                                                                       strict=True))
    committer.stop()  # stopping again is harmless
    # Used again, it starts a new writer thread.
    assert committer.store(envelope_write("again", (EVENT, "again", ""))) is store.results["again"]
    assert committer._thread is not None and committer._thread is not writer


def test_stop_ends_the_thread_when_overlapping_writes_are_carried_over(rig: Rig, pool: ThreadPoolExecutor) -> None:
    committer, store = rig()
    writes = [envelope_write("a", (HEARTBEAT, "a", "i-1")), envelope_write("a again", (HEARTBEAT, "b", "i-1"))]
    futures = queue_behind_first(committer, store, pool, writes)
    writer = committer._thread
    assert writer is not None

    stopper = threading.Thread(target=committer.stop, daemon=True)
    stopper.start()
    wait_until(lambda: committer._queue.qsize() == len(writes) + 1, "stop queued behind the writes")
    store.gate.set()
    stopper.join(DEADLINE)

    assert all(future.result(DEADLINE) is store.results[name]
               for future, name in zip(futures, ("first", "a", "a again"), strict=True))
    assert store.groups == [["first"], ["a"], ["a again"]]
    assert not stopper.is_alive(), "stop() hangs when a write was carried over to the group after the stop"
    assert not writer.is_alive()


# --- GroupCommitter with the real store, from threads ---------------------------------------------------------


def threaded_requests(appsmith: Product, hasura: Product) -> list[Write]:
    """8 callers, 3 requests each: instances shared between callers, and one message id sent by every caller."""
    writes = []
    for caller in range(8):
        for n in range(3):
            product = appsmith if (caller + n) % 3 else hasura
            received_at = NOW + timedelta(seconds=caller * 3 + n)
            writes.append(prepared_write(product, [
                heartbeat(f"i-{caller % 4}", f"m-{caller}-{n}", timestamp=received_at.isoformat(), version=f"1.{n}"),
                heartbeat(f"own-{caller}", f"own-{caller}-{n}", timestamp=received_at.isoformat()),
                heartbeat(f"i-{(caller + 1) % 4}", f"shared-{n}", timestamp=received_at.isoformat()),
            ], received_at=received_at))
    return writes


def assert_stored_once(writes: list[Write], results: list[Stored]) -> None:
    sent = {(w.product_id, e.message_id) for w in writes for e in w.envelopes}
    assert sum(len(w.envelopes) for w in writes) == 8 * 3 * 3
    assert sum(r.accepted for r in results) == len(sent)
    assert sum(r.accepted + r.duplicates for r in results) == 8 * 3 * 3
    assert sum(r.dropped for r in results) == 0
    stored = list(Event.objects.values_list("product_id", "message_id"))
    assert len(stored) == len(set(stored))
    assert set(stored) == sent
    heartbeats_of = {(i.product_id, i.instance_id): i.heartbeat_count for i in Instance.objects.all()}
    accepted_of: dict[tuple[int, str], int] = {}
    for product_id, instance_id in Event.objects.filter(kind=HEARTBEAT).values_list("product_id",
                                                                                     "instance__instance_id"):
        accepted_of[product_id, instance_id] = accepted_of.get((product_id, instance_id), 0) + 1
    assert heartbeats_of == accepted_of
    assert sum(heartbeats_of.values()) == len(sent)


def store_from_threads(committer: GroupCommitter, writes: list[Write]) -> list[Stored]:
    callers = [writes[caller * 3:caller * 3 + 3] for caller in range(8)]
    start = threading.Barrier(len(callers))

    def call(own: list[Write]) -> list[Stored]:
        start.wait(DEADLINE)
        return [committer.store(write) for write in own]

    with ThreadPoolExecutor(max_workers=len(callers)) as pool:
        return [result for results in pool.map(call, callers) for result in results]


@pytest.mark.django_db(transaction=True)
def test_threads_through_the_real_store(appsmith: Product, hasura: Product) -> None:
    writes = threaded_requests(appsmith, hasura)
    committer = GroupCommitter()
    try:
        results = store_from_threads(committer, writes)
    finally:
        stop_within_deadline(committer)  # closes the writer thread's database connection
    assert_stored_once(writes, results)


@pytest.mark.django_db(transaction=True)
def test_groups_of_many_writes_through_the_real_store(appsmith: Product, hasura: Product) -> None:
    """The first group is held until every other write has queued, so the next groups are large."""
    writes = threaded_requests(appsmith, hasura)
    groups: list[int] = []
    gate = threading.Event()

    def held_store(batch: Sequence[Write]) -> list[Stored]:
        groups.append(len(batch))
        if len(groups) == 1 and not gate.wait(DEADLINE):
            raise RuntimeError("the test never opened the gate")
        return writes_store(batch)

    committer = GroupCommitter(store=held_store)
    try:
        with ThreadPoolExecutor(max_workers=len(writes)) as pool:
            futures = [pool.submit(committer.store, writes[0])]
            wait_until(lambda: bool(groups), "the first write reached the store")
            futures += [pool.submit(committer.store, write) for write in writes[1:]]
            wait_until(lambda: committer._queue.qsize() == len(writes) - 1, "all writes queued")
            gate.set()
            results = [future.result(DEADLINE) for future in futures]
    finally:
        gate.set()
        stop_within_deadline(committer)
    assert groups[0] == 1 and max(groups[1:]) > 1 and sum(groups) == len(writes)
    assert_stored_once(writes, results)


# --- Through the ingest endpoint ----------------------------------------------------------------------------


@pytest.fixture
def group_commit_on() -> Iterator[None]:
    with override_settings(TELEMETRY_INGEST_GROUP_COMMIT=True):
        try:
            yield
        finally:
            stop_within_deadline(group_commit._committer)


@pytest.mark.django_db(transaction=True)
def test_ingest_endpoint_with_group_commit(group_commit_on: None, post: Post, appsmith: Product, clock: Any) -> None:
    body = {"type": "heartbeat", "instance_id": "i-1", "version": "v1.9.15", "message_id": "m-1"}
    response = post("/api/v1/ingest", body, key=appsmith.ingest_key)
    assert response.status_code == 200
    assert response.json() == {"accepted": 1, "duplicates": 0, "dropped": 0, "errors": [], "collect": "full",
                               "latest_version": "v1.9.56", "outdated": True, "notices": [], "next_ping_in": 7200}
    writer = group_commit._committer._thread
    assert writer is not None and writer.is_alive()  # stored by the writer thread

    clock.shift(timedelta(minutes=1))
    retry = post("/api/v1/ingest", {"batch": [body, {**body, "message_id": "m-2", "instance_id": "i-2"}]},
                 key=appsmith.ingest_key).json()
    assert (retry["accepted"], retry["duplicates"], set(retry["instances"])) == (1, 1, {"i-1", "i-2"})

    assert dict(Event.objects.values_list("message_id", "received_at")) == {
        "m-1": NOW, "m-2": NOW + timedelta(minutes=1)}
    assert dict(Instance.objects.values_list("instance_id", "heartbeat_count")) == {"i-1": 1, "i-2": 1}
    assert Instance.objects.get(instance_id="i-1").version == "v1.9.15"
