"""gunicorn's logger with the ingest key taken out of the access log's path (docker/gunicorn.conf.py).

The access-log format already leaves out the client's address, the Basic username and the query
string; the keyed product URLs (`/api/v1/ingest/flowfuse/<key>`) still hold the key in the path.
"""

from datetime import timedelta
from typing import Any

from gunicorn.glogging import Logger

from apps.core.log_redaction import access_log_redacted


class RedactingLogger(Logger):
    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: timedelta) -> dict[str, Any]:
        return access_log_redacted(super().atoms(resp, req, environ, request_time))
