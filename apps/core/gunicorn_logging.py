"""gunicorn's logger with the ingest key taken out of the access log's path (docker/gunicorn.conf.py).

The access-log format already leaves out the client's address, the Basic username and the query
string; the keyed product URLs (`/api/v1/ingest/flowfuse/<key>`) still hold the key in the path.
"""

from collections.abc import MutableMapping
from datetime import timedelta
from typing import Any

from gunicorn.glogging import Logger
from gunicorn.http import Request
from gunicorn.http.wsgi import Response

from apps.core.log_redaction import access_log_redacted


class RedactingLogger(Logger):
    # The stubs describe the atoms as a closed TypedDict; gunicorn's are a plain dict that also holds
    # one key per request header ("{name}i") and environ variable ("{name}e"), and so are these.
    def atoms(  # type: ignore[override]
        self, resp: Response, req: Request, environ: MutableMapping[str, Any], request_time: timedelta
    ) -> dict[str, Any]:
        return access_log_redacted(dict(super().atoms(resp, req, environ, request_time)))
