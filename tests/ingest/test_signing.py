"""Signed answers, checked from the instance's side with the very code docs/signed-answers.md gives products."""

import base64
import json
import os
import re
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import call_command
from django.test import Client

from apps.core.privacy import redact
from apps.events.models import Event
from apps.ingest import pipeline, signing
from apps.ingest.envelope import Envelope
from apps.ingest.signing_keys import PublicKey, b64url, decode_key, keyring, local_key, new_private_key, public_raw
from apps.instances.models import Instance
from apps.products.models import Notice, Product

from .conftest import Post, seed

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "signed-answers.md"
WINDOW = 300


def doc_snippet(language: str) -> str:
    blocks = re.findall(rf"```{language}\n(.*?)```", DOC.read_text(), flags=re.DOTALL)
    assert len(blocks) == 1, f"one {language} example expected in {DOC.name}"
    return blocks[0]


Verify = Callable[..., bool]


@pytest.fixture(scope="module")
def verify_answer() -> Verify:
    """The Python example of the docs, as a product would paste it."""
    namespace: dict[str, Any] = {}
    exec(compile(doc_snippet("python"), str(DOC), "exec"), namespace)
    return namespace["verify_answer"]


def published_keys(client: Client) -> dict[str, str]:
    """What an instance pins: kid → x, from the public key set."""
    response = client.get("/api/v1/signing-keys")
    assert response.status_code == 200
    return {key["kid"]: key["x"] for key in response.json()["keys"]}


def heartbeat(instance_id: str = "i-1", version: str = "v1.9.15") -> dict[str, Any]:
    return {"type": "heartbeat", "instance_id": instance_id, "version": version}


def created_of(header: str) -> int:
    return int(dict(re.findall(r'(\w+)="([^"]*)"', header))["created"])


@pytest.fixture
def signing_key(settings: Any) -> Iterator[str]:
    """A configured key (as in production) instead of the run's generated one."""
    settings.TELEMETRY_SIGNING_KEY = new_private_key()
    yield settings.TELEMETRY_SIGNING_KEY


# -- The instance's side: what done means ------------------------------------------------------------

@pytest.mark.django_db
def test_an_instance_verifies_its_answer_and_refuses_tampered_foreign_and_late_ones(
        post: Post, client: Client, appsmith: Product, verify_answer: Verify) -> None:
    Notice.objects.create(product=appsmith, level="security", title="CVE-2024-1", message="Upgrade now")
    response = post("/api/v1/ingest", heartbeat("i-1"), key=appsmith.ingest_key)
    assert response.status_code == 200
    body, header = response.content, response[signing.HEADER]
    assert response.json()["notices"][0]["title"] == "CVE-2024-1"  # the answer's fields are unchanged
    keys = published_keys(client)
    created = created_of(header)

    assert verify_answer(body, header, keys, "i-1")
    assert not verify_answer(body.replace(b"Upgrade now", b"Downgrade now"), header, keys, "i-1")
    assert not verify_answer(body.replace(b'"outdated":true', b'"outdated":false'), header, keys, "i-1")
    assert not verify_answer(body, header, keys, "i-2"), "replayed to another instance"
    assert not verify_answer(body, header, keys, "i-1", now=created + WINDOW + 1), "replayed too late"
    assert verify_answer(body, header, keys, "i-1", now=created + WINDOW - 1)
    assert not verify_answer(body, header.replace(f'created="{created}"', f'created="{created + 60}"'), keys, "i-1")
    assert not verify_answer(body, header, {}, "i-1"), "a key the instance does not know"
    other = PublicKey(public_raw(Ed25519PrivateKey.generate()), "signing").x
    assert not verify_answer(body, header, dict.fromkeys(keys, other), "i-1"), "a different key under the same id"


@pytest.mark.django_db
def test_a_nonce_binds_the_answer_to_one_request(post: Post, client: Client, appsmith: Product,
                                                 verify_answer: Verify) -> None:
    response = post("/api/v1/ingest", heartbeat("i-1"), key=appsmith.ingest_key, HTTP_X_TELEMETRY_NONCE="n-3f9a")
    keys = published_keys(client)
    body, header = response.content, response[signing.HEADER]
    assert verify_answer(body, header, keys, "i-1", "n-3f9a")
    assert not verify_answer(body, header, keys, "i-1", "n-other"), "an answer recorded for another request"
    assert not verify_answer(body, header, keys, "i-1"), "an instance that sent no nonce"


@pytest.mark.django_db
@pytest.mark.parametrize("nonce", ["has space", "x" * 129, "naïve", "line\nbreak"])
def test_a_malformed_nonce_is_refused_before_anything_is_stored(post: Post, appsmith: Product, nonce: str) -> None:
    response = post("/api/v1/ingest", heartbeat("i-1"), key=appsmith.ingest_key, HTTP_X_TELEMETRY_NONCE=nonce)
    assert (response.status_code, response.json()["code"]) == (400, "invalid_nonce")
    assert not Event.objects.exists() and not Instance.objects.exists()


@pytest.mark.django_db
def test_product_endpoints_sign_for_the_instance_their_payload_names(
        post: Post, client: Client, hasura: Product, flowfuse: Product, wasp: Product,
        verify_answer: Verify) -> None:
    keys = published_keys(client)
    for path, product, body, instance_id in (
            ("/api/v1/ingest/hasura", hasura, seed("hasura_server"), seed("hasura_server")["instance_uid"]),
            # A CLI run is answered for the server it talks to, though it sends no heartbeat.
            ("/api/v1/ingest/hasura", hasura, seed("hasura_cli"), seed("hasura_cli")["server_uuid"]),
            ("/api/v1/ingest/flowfuse", flowfuse, seed("flowfuse_core"), seed("flowfuse_core")["instanceId"]),
            ("/api/v1/ingest/wasp", wasp, seed("wasp_cli"), seed("wasp_cli")["distinct_id"])):
        response = post(path, body, key=product.ingest_key)
        assert response.status_code == 200, response.content
        assert "latest_version" in response.json()
        assert verify_answer(response.content, response[signing.HEADER], keys, instance_id), path
        assert not verify_answer(response.content, response[signing.HEADER], keys, "someone-else"), path


@pytest.mark.django_db
def test_a_batch_of_instances_is_signed_for_no_single_instance(
        post: Post, client: Client, appsmith: Product, verify_answer: Verify) -> None:
    response = post("/api/v1/ingest", [heartbeat("i-1"), heartbeat("i-2", "v1.9.56"),
                                       {"type": "event", "event": "x", "instance_id": "i-3"}],
                    key=appsmith.ingest_key)
    answer = response.json()
    assert set(answer["instances"]) == {"i-1", "i-2"}  # the top level answers the batch
    keys = published_keys(client)
    assert verify_answer(response.content, response[signing.HEADER], keys, "")  # the relay that sent it
    # Replayed to one of the instances, it is refused: no single instance's id is signed.
    assert not verify_answer(response.content, response[signing.HEADER], keys, "i-2")
    assert not verify_answer(response.content, response[signing.HEADER], keys, "i-1")


@pytest.mark.django_db
def test_the_signature_names_the_instance_by_the_id_it_sent(post: Post, client: Client, appsmith: Product,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            verify_answer: Verify) -> None:
    """Should the pipeline store an id in another form (a keyed hash of an e-mail address, say), the
    instance still verifies with the id it knows itself by."""
    protect = pipeline.protect

    def protect_and_rename(envelope: Envelope, request_ip: str) -> None:
        protect(envelope, request_ip)
        envelope.instance_id = "stored-" + envelope.instance_id[::-1]

    monkeypatch.setattr(pipeline, "protect", protect_and_rename)
    response = post("/api/v1/ingest", heartbeat("ops@example.com"), key=appsmith.ingest_key)
    assert Instance.objects.get().instance_id == "stored-" + redact("ops@example.com")[::-1]
    assert verify_answer(response.content, response[signing.HEADER], published_keys(client), "ops@example.com")


@pytest.mark.django_db
def test_an_answer_with_counts_only_is_signed_for_no_instance(post: Post, client: Client, appsmith: Product,
                                                              verify_answer: Verify) -> None:
    response = post("/api/v1/ingest", {"event": "page_view", "instance_id": "i-1"}, key=appsmith.ingest_key)
    assert "collect" not in response.json()
    assert verify_answer(response.content, response[signing.HEADER], published_keys(client), "")


@pytest.mark.django_db
def test_sdk_style_answers_and_errors_carry_no_signature(post: Post, appsmith: Product) -> None:
    segment = post("/v1/track", {"event": "x", "anonymousId": "a"}, key=appsmith.ingest_key)
    refused = post("/api/v1/ingest", {"type": "heartbeat"}, key=appsmith.ingest_key)
    assert segment.status_code == 200 and refused.status_code == 400
    assert signing.HEADER not in segment and signing.HEADER not in refused


@pytest.mark.django_db
def test_browsers_may_read_the_signature_and_send_a_nonce(client: Client) -> None:
    preflight = client.options("/api/v1/ingest/hasura")
    assert signing.HEADER in preflight["Access-Control-Expose-Headers"]
    assert signing.NONCE_HEADER in preflight["Access-Control-Allow-Headers"]


# -- The JavaScript example, run by Node against real answers -----------------------------------------

_NODE_CASES = """
const cases = JSON.parse(require("node:fs").readFileSync(0, "utf8"));
console.log(JSON.stringify(cases.map((c) =>
  verifyAnswer(Buffer.from(c.body, "base64"), c.header, c.keys, c.instance, c.nonce, c.now))));
"""


@dataclass
class Cases:
    payload: list[dict[str, Any]]
    expected: list[bool]


def answer_cases(post: Post, client: Client, appsmith: Product) -> Cases:
    """A real answer, and the ways it must be refused, for verifiers run outside Python."""
    response = post("/api/v1/ingest", heartbeat("i-1"), key=appsmith.ingest_key, HTTP_X_TELEMETRY_NONCE="n-1")
    body, header, keys = response.content, response[signing.HEADER], published_keys(client)
    created = created_of(header)
    tampered = body.replace(b'"collect":"full"', b'"collect":"off"')
    assert tampered != body
    rows = [(body, "i-1", "n-1", created, True), (tampered, "i-1", "n-1", created, False),
            (body, "i-2", "n-1", created, False), (body, "i-1", "n-1", created + WINDOW + 1, False),
            (body, "i-1", "", created, False), (body, "i-1", "n-1", created - WINDOW + 1, True),
            (body, "i-1", "n-1", created, False)]
    payload = [{"body": base64.b64encode(b).decode(), "header": header, "keys": keys, "instance": i, "nonce": n,
                "now": t} for b, i, n, t, _ in rows]
    payload[-1]["keys"] = {}  # a key the instance does not know
    return Cases(payload, [expected for *_, expected in rows])


@pytest.mark.django_db
def test_the_javascript_example_verifies_and_refuses_the_same_answers(
        post: Post, client: Client, appsmith: Product, tmp_path: Path) -> None:
    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        if os.environ.get("CI") == "true":
            pytest.fail("Node.js is missing: CI installs the Debian package nodejs")
        pytest.skip("Node.js is not installed: the JavaScript example is not run")
    cases = answer_cases(post, client, appsmith)
    script = tmp_path / "verify.js"
    script.write_text(doc_snippet("js") + _NODE_CASES)
    result = subprocess.run([node, str(script)], input=json.dumps(cases.payload), capture_output=True, text=True,
                            timeout=60, check=True)
    assert json.loads(result.stdout) == cases.expected


_GO_MAIN = """
func main() {
	var cases []struct {
		Body, Header, Instance, Nonce string
		Keys                          map[string]string
		Now                           int64
	}
	if err := json.NewDecoder(os.Stdin).Decode(&cases); err != nil {
		panic(err)
	}
	results := []bool{}
	for _, c := range cases {
		body, _ := base64.StdEncoding.DecodeString(c.Body)
		results = append(results, VerifyAnswer(body, c.Header, c.Keys, c.Instance, c.Nonce, time.Unix(c.Now, 0)))
	}
	_ = json.NewEncoder(os.Stdout).Encode(results)
}
"""


@pytest.mark.django_db
def test_the_go_example_verifies_and_refuses_the_same_answers(post: Post, client: Client, appsmith: Product,
                                                              tmp_path: Path) -> None:
    go = shutil.which("go")
    if go is None:
        pytest.skip("Go is not installed: the Go example is not run")
    snippet = doc_snippet("go")
    imports_end = snippet.index(")\n", snippet.index("import (")) + 2
    source = (f'package main\n\n{snippet[:imports_end]}\nimport (\n\t"encoding/json"\n\t"os"\n)\n'
              f"{snippet[imports_end:]}{_GO_MAIN}")
    (tmp_path / "main.go").write_text(source)
    cases = answer_cases(post, client, appsmith)
    env = {**os.environ, "GOCACHE": str(tmp_path / "cache"), "GOPATH": str(tmp_path / "gopath"), "GO111MODULE": "off"}
    result = subprocess.run([go, "run", str(tmp_path / "main.go")], input=json.dumps(cases.payload),
                            capture_output=True, text=True, timeout=300, check=False, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == cases.expected


# -- Keys: rotation, storage, publication --------------------------------------------------------------

@pytest.mark.django_db
def test_rotation_publishes_the_next_key_before_it_signs_and_the_old_one_after(
        post: Post, client: Client, appsmith: Product, settings: Any, verify_answer: Verify) -> None:
    old, new = new_private_key(), new_private_key()
    old_x, new_x = (b64url(public_raw(Ed25519PrivateKey.from_private_bytes(decode_key(k, name="k"))))
                    for k in (old, new))
    settings.TELEMETRY_SIGNING_KEY, settings.TELEMETRY_SIGNING_PUBLIC_KEYS = old, [new_x]
    before = client.get("/api/v1/signing-keys").json()["keys"]
    assert [(k["x"], k["status"]) for k in before] == [(old_x, "signing"), (new_x, "published")]
    pinned_by_old_release = {before[0]["kid"]: old_x}
    pinned_by_new_release = {k["kid"]: k["x"] for k in before}
    first = post("/api/v1/ingest", heartbeat("i-1"), key=appsmith.ingest_key)
    assert verify_answer(first.content, first[signing.HEADER], pinned_by_old_release, "i-1")

    settings.TELEMETRY_SIGNING_KEY, settings.TELEMETRY_SIGNING_PUBLIC_KEYS = new, [old_x]
    after = client.get("/api/v1/signing-keys").json()["keys"]
    assert [(k["x"], k["status"]) for k in after] == [(new_x, "signing"), (old_x, "published")]
    second = post("/api/v1/ingest", heartbeat("i-1"), key=appsmith.ingest_key)
    assert f'keyid="{after[0]["kid"]}"' in second[signing.HEADER]
    assert verify_answer(second.content, second[signing.HEADER], pinned_by_new_release, "i-1")
    assert not verify_answer(second.content, second[signing.HEADER], pinned_by_old_release, "i-1")


def test_key_ids_are_rfc7638_thumbprints() -> None:
    # RFC 8037, appendix A.3: the thumbprint of its Ed25519 example key.
    key = PublicKey(decode_key("11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo", name="x"), "signing")
    assert key.kid == "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k"


def test_keys_are_read_in_either_base64_alphabet_with_or_without_padding() -> None:
    raw = bytes(range(250, 256)) + os.urandom(26)  # bytes whose base64 holds "+" and "/"
    for text in (base64.b64encode(raw).decode(), base64.urlsafe_b64encode(raw).decode().rstrip("=")):
        assert decode_key(text, name="k") == raw
    for bad in ("", "short", base64.b64encode(os.urandom(31)).decode(), "*" * 44):
        with pytest.raises(Exception, match="32 bytes"):
            decode_key(bad, name="k")


def test_a_local_installation_generates_its_key_once(tmp_path: Path, settings: Any) -> None:
    path = tmp_path / "var" / "signing-key"
    first = local_key(path)
    assert local_key(path) == first and len(decode_key(first, name="k")) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert list(path.parent.iterdir()) == [path]  # no temporary file left behind
    settings.TELEMETRY_SIGNING_KEY, settings.TELEMETRY_SIGNING_KEY_FILE = "", str(path)
    assert keyring().signing.x == b64url(public_raw(Ed25519PrivateKey.from_private_bytes(decode_key(first, name="k"))))


@pytest.mark.django_db
def test_an_unloadable_key_leaves_the_answer_unsigned_but_stored(post: Post, appsmith: Product,
                                                                  settings: Any) -> None:
    settings.TELEMETRY_SIGNING_KEY = "not-a-key"
    response = post("/api/v1/ingest", heartbeat("i-1"), key=appsmith.ingest_key)
    assert response.status_code == 200 and signing.HEADER not in response
    assert Instance.objects.filter(instance_id="i-1").exists()


def test_the_key_set_is_public_json_and_cacheable(client: Client, signing_key: str) -> None:
    response = client.get("/api/v1/signing-keys")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    assert "max-age" in response["Cache-Control"] and response["Access-Control-Allow-Origin"] == "*"
    (key,) = response.json()["keys"]
    assert key == {"kty": "OKP", "crv": "Ed25519", "x": keyring().signing.x, "kid": keyring().kid, "alg": "EdDSA",
                   "use": "sig", "status": "signing"}
    assert client.post("/api/v1/signing-keys").status_code == 405


@pytest.mark.django_db
def test_staff_see_the_keys_in_the_admin(client: Client, staff_user: Any, signing_key: str, settings: Any) -> None:
    next_x = b64url(public_raw(Ed25519PrivateKey.generate()))
    settings.TELEMETRY_SIGNING_PUBLIC_KEYS = [next_x]
    assert client.get("/admin/signing-keys/").status_code == 302  # to the login page
    client.force_login(staff_user)
    assert b'href="/admin/signing-keys/"' in client.get("/admin/").content
    page = client.get("/admin/signing-keys/").content.decode()
    assert keyring().kid in page and keyring().signing.x in page and next_x in page
    assert "BEGIN PUBLIC KEY" in page and "signs answers" in page and "published, not signing" in page


def test_the_command_lists_keys_and_prints_a_rotation(signing_key: str, capsys: pytest.CaptureFixture[str]) -> None:
    call_command("signing_keys")
    assert f"signing    keyid={keyring().kid}  public={keyring().signing.x}" in capsys.readouterr().out
    call_command("signing_keys", "new")
    out = capsys.readouterr().out
    printed = re.search(r"private: (\S+)", out)
    assert printed is not None, out
    private = printed[1]
    new_x = b64url(public_raw(Ed25519PrivateKey.from_private_bytes(decode_key(private, name="k"))))
    assert f"public:  {new_x}" in out
    assert f"TELEMETRY_SIGNING_PUBLIC_KEYS={new_x}\n" in out  # step 1: publish the next key
    assert f"TELEMETRY_SIGNING_KEY={private}\n     TELEMETRY_SIGNING_PUBLIC_KEYS={keyring().signing.x}\n" in out


def test_the_schema_documents_the_signature_the_nonce_and_the_key_set(db: None) -> None:
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.validation import validate_schema

    schema = SchemaGenerator().get_schema(request=None, public=True)
    validate_schema(schema)
    for path in ("/api/v1/ingest", "/api/v1/ingest/hasura", "/api/v1/ingest/flowfuse", "/api/v1/ingest/wasp"):
        operation = schema["paths"][path]["post"]
        assert signing.HEADER in operation["responses"]["200"]["headers"]
        assert signing.NONCE_HEADER in [p["name"] for p in operation["parameters"]]
    assert "/api/v1/signing-keys" in schema["paths"]


# -- Production refuses to start without a usable key ---------------------------------------------------

def _load_production(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TELEMETRY_SIGNING")}
    clean.update(SECRET_KEY="s3Cr-e7k" * 8, ALLOWED_HOSTS="telemetry.example.com",
                 DJANGO_SETTINGS_MODULE="telemetry_site.settings.production", **env)
    return subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=clean,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("env", [{}, {"TELEMETRY_SIGNING_KEY": "not-a-key"},
                                 {"TELEMETRY_SIGNING_KEY": new_private_key(), "TELEMETRY_SIGNING_PUBLIC_KEYS": "bad"}])
def test_production_refuses_to_start_without_a_usable_signing_key(env: dict[str, str]) -> None:
    result = _load_production(**env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr and "TELEMETRY_SIGNING" in result.stderr


def test_production_starts_with_a_signing_key() -> None:
    result = _load_production(TELEMETRY_SIGNING_KEY=new_private_key(),
                              TELEMETRY_SIGNING_PUBLIC_KEYS=b64url(public_raw(Ed25519PrivateKey.generate())))
    assert result.returncode == 0, result.stderr
