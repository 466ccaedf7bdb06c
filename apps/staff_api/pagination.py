"""Pagination for the event store, the one table that grows without bound.

Page numbers would make deep pages an OFFSET over millions of rows and every page a COUNT(*) over
the whole match; a cursor walks the (product, timestamp) index instead. The `count` key stays, as
the contract asks, but counts only up to COUNT_CAP matches: beyond that it is null ("many").
"""

from typing import Any

from django.db.models import QuerySet
from django.utils.dateparse import parse_datetime
from rest_framework.exceptions import NotFound
from rest_framework.pagination import Cursor, CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

COUNT_CAP = 10_000


class EventCursorPagination(CursorPagination):
    ordering = ("-timestamp", "-id")
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    # Cursor pagination orders and counts in SQL, so it takes a queryset only (as DRF's does at run time);
    # the stubs give every paginator the base class's "queryset or sequence".
    def paginate_queryset(  # type: ignore[override]
        self, queryset: QuerySet, request: Request, view: Any = None
    ) -> list | None:
        # COUNT over a LIMITed subquery: bounded work however large the match is.
        matched = queryset.order_by()[: COUNT_CAP + 1].count()
        self.count = matched if matched <= COUNT_CAP else None
        return super().paginate_queryset(queryset, request, view)

    def decode_cursor(self, request: Request) -> Cursor | None:
        cursor = super().decode_cursor(request)
        # The position is compared with `timestamp` in SQL: a forged cursor must not reach the database.
        if cursor is not None and cursor.position is not None:
            try:
                # The stubs type the position as int; DRF decodes it from the cursor as text.
                valid = parse_datetime(str(cursor.position)) is not None
            except ValueError:
                valid = False
            if not valid:
                raise NotFound(self.invalid_cursor_message)
        return cursor

    def get_paginated_response(self, data: list) -> Response:
        return Response({"count": self.count, "next": self.get_next_link(), "previous": self.get_previous_link(),
                         "results": data})

    def get_paginated_response_schema(self, schema: dict[str, Any]) -> dict[str, Any]:
        paginated = super().get_paginated_response_schema(schema)
        paginated["required"] = ["count", "next", "previous", "results"]
        paginated["properties"] = {
            "count": {"type": "integer", "nullable": True,
                      "description": f"Number of matching events, or null when more than {COUNT_CAP}."},
            **paginated["properties"],
        }
        return paginated
