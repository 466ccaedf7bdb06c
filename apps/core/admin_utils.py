"""Admin building blocks shared by every app's admin."""

from django.core.paginator import Paginator
from django.utils.functional import cached_property


class NoCountPaginator(Paginator):
    """Paginator for big tables: never runs COUNT(*) over the whole table.

    The admin shows "page N" without a total; the count it reports is an upper bound good enough to
    keep the next-page link alive (one page beyond the current one).
    """

    @cached_property
    def count(self) -> int:  # type: ignore[override]
        return 10**9

    def validate_number(self, number: object) -> int:
        try:
            value = int(number)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            value = 1
        return max(value, 1)
