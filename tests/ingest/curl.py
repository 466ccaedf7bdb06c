"""Turn a documented `curl` command into the request curl would send, for the Django test client.

Only what curl does with the options the docs use: `-d`/`--data*` (several are joined with `&`;
without a Content-Type header curl labels the body `application/x-www-form-urlencoded`), `--json`,
`-H`, `-X`, `-u`, `--compressed` and silent/fail/verbose flags. `$VAR`/`${VAR}` are expanded from
`env` outside single quotes, as a shell would.
"""

import base64
import re
import shlex
from dataclasses import dataclass, field
from urllib.parse import urlsplit

_IGNORED = {"-s", "-S", "-f", "-L", "-i", "-v", "-sS", "-sf", "-fsS", "-sSf", "-fsSL", "-sfL", "--silent",
            "--show-error", "--fail", "--location", "--include", "--verbose", "--compressed"}
_DATA = {"-d", "--data", "--data-raw", "--data-binary", "--data-ascii"}


@dataclass
class CurlRequest:
    method: str
    path: str  # with the query string
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def content_type(self) -> str:
        return next((v for k, v in self.headers.items() if k.lower() == "content-type"), "")

    def meta(self) -> dict[str, str]:
        """Headers as the test client's WSGI environ keys (Content-Type travels separately)."""
        return {"HTTP_" + name.upper().replace("-", "_"): value for name, value in self.headers.items()
                if name.lower() != "content-type"}


def commands(markdown: str) -> list[str]:
    """Every curl command in the ```sh / ```bash / ```shell blocks of a Markdown text."""
    found = []
    for block in re.findall(r"```(?:sh|bash|shell)\n(.*?)```", markdown, flags=re.S):
        joined = re.sub(r"\\\n\s*", " ", block)
        lines = joined.splitlines()
        while lines:
            command = lines.pop(0).strip()
            if not command.startswith("curl "):
                continue
            # A quoted body may go on over several lines: read on until the quotes close.
            while lines and not _quotes_closed(command):
                command += "\n" + lines.pop(0)
            found.append(command)
    return found


def _quotes_closed(command: str) -> bool:
    try:
        shlex.split(command)
    except ValueError:
        return False
    return True


def expand(command: str, env: dict[str, str]) -> str:
    """Expand $VAR and ${VAR} everywhere but inside single quotes."""
    parts = re.split(r"('[^']*')", command)
    pattern = re.compile(r"\$\{(\w+)\}|\$(\w+)")
    return "".join(part if part.startswith("'") else
                   pattern.sub(lambda m: env.get(m.group(1) or m.group(2), m.group(0)), part) for part in parts)


def parse(command: str, env: dict[str, str]) -> CurlRequest:
    args = shlex.split(expand(command, env))
    assert args[0] == "curl", command
    method, url, headers, data, user = "", "", {}, [], ""
    items = iter(args[1:])
    for arg in items:
        if arg in _IGNORED:
            continue
        if arg in ("-H", "--header"):
            name, _, value = next(items).partition(":")
            headers[name.strip()] = value.strip()
        elif arg in _DATA:
            data.append(next(items))
        elif arg == "--json":
            data.append(next(items))
            headers.setdefault("Content-Type", "application/json")
            headers.setdefault("Accept", "application/json")
        elif arg in ("-X", "--request"):
            method = next(items)
        elif arg in ("-u", "--user"):
            user = next(items)
        elif arg.startswith("-"):
            raise AssertionError(f"the test does not know curl option {arg!r} (in {command!r})")
        else:
            url = arg
    if user:
        headers["Authorization"] = "Basic " + base64.b64encode(user.encode()).decode()
    if data and not any(k.lower() == "content-type" for k in headers):
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "")
    assert not any(item.startswith("@") for item in data), f"a documented example must not need a file: {command!r}"
    body = "&".join(data).encode()
    return CurlRequest(method or ("POST" if data else "GET"), path, headers, body)
