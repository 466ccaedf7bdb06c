"""A real HTTP receiver on loopback, and helpers to make rules and channels."""

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from apps.alerts.models import AlertChannel, AlertRule
from apps.products.models import Product


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    # Status codes to answer with, in order; 200 once they run out.
    answers: list[int] = field(default_factory=list)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # http.server calls it by this name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state.requests.append(Received(self.path, dict(self.headers.items()), body))
            status = state.answers.pop(0) if state.answers else 200
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@pytest.fixture
def webhook(receiver: Receiver, db: None) -> AlertChannel:
    return AlertChannel.objects.create(name="ops hook", kind="webhook", target=receiver.url, secret="s3cret")


@pytest.fixture
def make_rule(product: Product) -> Callable[..., AlertRule]:
    def make(kind: str = "instance_status", params: dict[str, Any] | None = None,
             channels: Sequence[AlertChannel] = (), **fields: Any) -> AlertRule:
        fields.setdefault("product", product)
        fields.setdefault("name", f"{kind} rule")
        rule = AlertRule.objects.create(kind=kind, params=params or {"selector": {}}, **fields)
        rule.channels.set(channels)
        return rule

    return make
