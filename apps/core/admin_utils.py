"""Admin building blocks shared by every app's admin."""

from typing import Any

from django.core.paginator import Page, Paginator
from django.utils.functional import cached_property


class NoCountPaginator(Paginator):
    """Paginator for big tables: never runs COUNT(*) over the whole table.

    A page fetches one row more than it shows, which is how it knows whether a next page exists.
    `count` is a large sentinel so the admin's ChangeList keeps paginating; the admin templates
    (templates/admin/pagination.html, search_form.html, actions.html) check `uncounted` and show
    "page N · newer · older" instead of a total.
    """

    uncounted = True

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.has_more = False

    @cached_property
    def count(self) -> int:  # type: ignore[override]
        return 10**9

    def validate_number(self, number: object) -> int:
        try:
            value = int(number)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            value = 1
        return max(value, 1)

    def page(self, number: object) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom:bottom + self.per_page + 1])
        self.has_more = len(rows) > self.per_page
        return self._get_page(rows[:self.per_page], number, self)


def uncounted_page(queryset: Any, *, page: object, per_page: int) -> tuple[list[Any], int, bool]:
    """One page of `queryset` without counting it: (rows, page number, whether an older page exists)."""
    paginator = NoCountPaginator(queryset, per_page)
    current = paginator.page(page)
    return list(current.object_list), current.number, paginator.has_more
