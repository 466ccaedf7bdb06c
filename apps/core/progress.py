"""Progress bars for the management commands that run scheduled jobs by hand."""

from typing import Any

from tqdm import tqdm


def progress_bar(options: dict[str, Any], **kwargs: Any) -> tqdm:
    """A tqdm bar on stderr, silent with --verbosity 0 so cron-style runs log only the summary."""
    return tqdm(disable=options.get("verbosity", 1) == 0, dynamic_ncols=True, **kwargs)
