"""One module per seed product, each producing that product's documented payloads.

Each module exposes SLUG, NAME, HEARTBEAT_INTERVAL (seconds), PRODUCT_DEFAULTS (other Product fields
for a new product), RELEASES (oldest first), an optional NOTICE, and
`records(rng=, plans=, window_start=, now=) -> list[Record]`.
"""

from types import ModuleType

from . import appsmith, flowfuse, hasura, wasp

PRODUCTS: dict[str, ModuleType] = {m.SLUG: m for m in (appsmith, hasura, flowfuse, wasp)}
