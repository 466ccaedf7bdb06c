"""Every curl example the README and docs/ give for an ingest path works, run as curl would send it."""

from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from . import curl
from .conftest import SENDER

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
INGEST_PREFIXES = ("/api/v1/ingest", "/v1/", "/batch", "/capture", "/e/", "/i/v0/e")
KEY = "tk_documented-example-key"


def _examples() -> list[tuple[str, str]]:
    found = []
    for document in DOCUMENTS:
        for command in curl.commands(document.read_text()):
            request = curl.parse(command, {"KEY": KEY})
            if request.path.startswith(INGEST_PREFIXES):
                found.append((document.name, command))
    return found


EXAMPLES = _examples()


def test_the_docs_have_ingest_examples() -> None:
    assert any(name == "README.md" for name, _ in EXAMPLES)
    assert len(EXAMPLES) >= 2


@pytest.mark.parametrize(("document", "command"), EXAMPLES, ids=[f"{d}:{i}" for i, (d, _) in enumerate(EXAMPLES)])
@pytest.mark.django_db
def test_documented_example_is_accepted(client: Client, make_product, document: str, command: str) -> None:
    make_product("example", ingest_key=KEY, heartbeat_events=["Instance Active", "instance_stats", "cli"],
                 install_events={"install-script:run": "succeeded", "Installation Started": "started"})
    request = curl.parse(command, {"KEY": KEY})
    meta: dict[str, Any] = request.meta()
    response = client.generic(request.method, request.path, data=request.body, content_type=request.content_type,
                              REMOTE_ADDR=SENDER, **meta)
    assert 200 <= response.status_code < 300, (document, command, response.content)
    answer = response.json()
    assert not answer.get("errors"), answer
    assert answer.get("accepted", 1) + answer.get("duplicates", 0) >= 1, answer


def test_curl_translation_matches_curl() -> None:
    plain = curl.parse("curl -s https://h/api/v1/ingest -H \"X-Telemetry-Key: $KEY\" -d '{\"a\": \"$KEY\"}'",
                       {"KEY": "k"})
    assert (plain.method, plain.path, plain.headers, plain.body) == (
        "POST", "/api/v1/ingest", {"X-Telemetry-Key": "k", "Content-Type": "application/x-www-form-urlencoded"},
        b'{"a": "$KEY"}')
    basic = curl.parse("curl -u \"$KEY:\" 'https://h/v1/track?x=1' -H 'Content-Type: application/json' -d '{}'",
                       {"KEY": "k"})
    assert (basic.path, basic.headers["Authorization"], basic.content_type) == ("/v1/track?x=1", "Basic azo=",
                                                                              "application/json")
