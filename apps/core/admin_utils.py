"""Admin building blocks shared by every app's admin."""

from typing import Any, SupportsInt

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
    def count(self) -> int:
        return 10**9

    def validate_number(self, number: object) -> int:
        # Anything that is not a whole page number (missing, garbage in the query string) is page 1.
        if not isinstance(number, str | bytes | SupportsInt):
            return 1
        try:
            value = int(number)
        except (TypeError, ValueError):
            value = 1
        return max(value, 1)

    def page(self, number: object) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        rows = list(self.object_list[bottom:bottom + self.per_page + 1])
        self.has_more = len(rows) > self.per_page
        return Page(rows[:self.per_page], number, self)


def uncounted_page(queryset: Any, *, page: object, per_page: int) -> tuple[list[Any], int, bool]:
    """One page of `queryset` without counting it: (rows, page number, whether an older page exists)."""
    paginator = NoCountPaginator(queryset, per_page)
    current = paginator.page(page)
    return list(current.object_list), current.number, paginator.has_more


def recent_filter(field_name: str, title: str) -> type:
    """A list filter "last 24 hours / 7 days / 30 days" on a datetime field.

    Unlike date_hierarchy it runs no query to build its choices (date_hierarchy asks the table for
    its distinct dates, a full scan on a big table), and each choice is a range on an indexed column.
    """
    from datetime import timedelta

    from django.contrib.admin import SimpleListFilter
    from django.utils import timezone

    choices = {"24h": ("Last 24 hours", timedelta(hours=24)), "7d": ("Last 7 days", timedelta(days=7)),
               "30d": ("Last 30 days", timedelta(days=30))}

    class RecentFilter(SimpleListFilter):
        parameter_name = f"{field_name}_recent"

        def lookups(self, request: Any, model_admin: Any) -> list[tuple[str, str]]:
            return [(key, label) for key, (label, _) in choices.items()]

        def queryset(self, request: Any, queryset: Any) -> Any:
            value = self.value()
            if value in choices:
                return queryset.filter(**{f"{field_name}__gte": timezone.now() - choices[value][1]})
            return queryset

    RecentFilter.title = title
    RecentFilter.__name__ = f"Recent{field_name.title().replace('_', '')}Filter"
    return RecentFilter


def short_id_html(value: str, *, url: str = "", keep: int = 14) -> str:
    """A long id (UUIDs, hashes) cut for a list column; the full value stays in the tooltip."""
    from django.utils.html import format_html

    shown = value if len(value) <= keep else value[:keep - 1] + "…"
    if url:
        return format_html('<a href="{}" title="{}">{}</a>', url, value, shown)
    return format_html('<span title="{}">{}</span>', value, shown)


def instance_link_html(instance: Any) -> str:
    """The short id of an instance, linked to its admin page; a dash when there is none."""
    from django.urls import reverse

    if instance is None:
        return "—"
    return short_id_html(instance.instance_id, url=reverse("admin:instances_instance_change", args=[instance.pk]))


def utc_minutes(value: Any) -> str:
    return f"{value:%Y-%m-%d %H:%M}" if value else "—"
