"""A retrying ingest client: unique message ids, each resent until a 2xx, every answer recorded.

It does what an SDK does: on a 503, a refused or reset connection or a timeout it waits and sends
the same message again (the message id makes the retry a duplicate if the first try was stored).
"""

import http.client
import random
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import orjson

RETRYABLE_STATUSES = {503}


@dataclass
class Answer:
    sent: float
    received: float
    status: int  # 0: no HTTP answer (connection refused, reset, timed out)


@dataclass
class Message:
    message_id: str
    kind: str
    instance_id: str
    body: bytes = b""
    acknowledged: bool = False


@dataclass
class LoadClient:
    port: int
    key: str
    threads: int = 6
    rate_per_thread: float = 40.0
    instances: int = 40
    # When set, one message in four is an event dated on a random day of this range (rollup input).
    past_days: tuple[datetime, int] | None = None
    answers: list[Answer] = field(default_factory=list)
    messages: list[Message] = field(default_factory=list)
    unexpected: list[tuple[int, bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def start(self) -> None:
        for index in range(self.threads):
            worker = threading.Thread(target=self._run, args=(index,), name=f"load-{index}", daemon=True)
            worker.start()
            self._workers.append(worker)

    def stop(self, *, drain_seconds: float = 90.0) -> None:
        """Stop sending new messages; the ones in flight are retried until stored or `drain_seconds` pass."""
        self._drain_deadline = time.monotonic() + drain_seconds
        self._stop.set()
        for worker in self._workers:
            worker.join(drain_seconds + 30)

    def _run(self, index: int) -> None:
        rng = random.Random(index)
        connection: http.client.HTTPConnection | None = None
        pause = 1.0 / self.rate_per_thread
        while not self._stop.is_set():
            message = self._next_message(rng)
            self.messages.append(message)
            connection = self._deliver(message, connection, rng)
            time.sleep(pause)

    def _next_message(self, rng: random.Random) -> Message:
        instance = f"faults-{rng.randrange(self.instances)}"
        past = self.past_days
        if past and rng.random() < 0.25:
            start, days = past
            message_id = uuid.uuid4().hex
            when = start + timedelta(days=rng.randrange(days), seconds=rng.randrange(86400))
            return Message(message_id, "event", instance, orjson.dumps({
                "type": "event", "event": rng.choice(["page", "deploy", "query"]), "instance_id": instance,
                "message_id": message_id, "timestamp": when.isoformat()}))
        message_id = uuid.uuid4().hex
        return Message(message_id, "heartbeat", instance, orjson.dumps({
            "type": "heartbeat", "instance_id": instance, "message_id": message_id,
            "version": rng.choice(["1.0.0", "1.1.0", "2.0.0"]), "os": "linux",
            "timestamp": datetime.now(UTC).isoformat()}))

    def _deliver(self, message: Message, connection: http.client.HTTPConnection | None,
                 rng: random.Random) -> http.client.HTTPConnection | None:
        backoff = 0.2
        while True:
            if self._stop.is_set() and time.monotonic() > self._drain_deadline:
                return connection
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
            sent = time.monotonic()
            try:
                connection.request("POST", "/api/v1/ingest", body=message.body,
                                   headers={"Content-Type": "application/json", "X-Telemetry-Key": self.key,
                                            "X-Forwarded-Proto": "https"})
                response = connection.getresponse()
                content = response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                connection.close()
                connection, status, content = None, 0, b""
            self.answers.append(Answer(sent, time.monotonic(), status))
            if 200 <= status < 300:
                message.acknowledged = True
                return connection
            if status and status not in RETRYABLE_STATUSES:
                self.unexpected.append((status, content[:300]))
                if status < 500:
                    return connection  # refused for what it is: retrying would not change the answer
            time.sleep(backoff + rng.random() * backoff)
            backoff = min(backoff * 2, 2.0)
