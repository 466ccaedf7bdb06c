"""OpenAPI description of the ingest endpoints.

Ingest views are plain Django views (no DRF on the hot path), so drf-spectacular cannot see them;
this post-processing hook adds their paths to the generated schema.
"""

from typing import Any


def add_ingest_paths(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    return result
