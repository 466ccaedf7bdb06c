"""`/api/v1/instances/export.csv`: the instance list, every match, as a CSV download for spreadsheets."""

import csv
from collections.abc import Iterable, Iterator
from typing import Any

from django.http import StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request

from apps.accounts.api_scoping import ProductScopedAPIMixin
from apps.staff_api.filters import InstanceFilter
from apps.staff_api.selectors import instances_for_api

from .base import StaffViewMixin

COLUMNS = ["id", "product", "instance_id", "status", "version", "edition", "os", "arch", "context", "collection",
           "first_seen", "last_seen", "license_id", "license_type", "heartbeat_count", "dropped_count", "country"]
_FIELDS = ["id", "product__slug", "instance_id", "status", "version", "edition", "os", "arch", "context",
           "collection", "first_seen", "last_seen", "license__license_id", "license__type", "heartbeat_count",
           "dropped_count", "country"]
# Cells a spreadsheet would run as a formula; instance ids and versions come from the clients.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
CHUNK_SIZE = 2000


class _Echo:
    """csv.writer wants a file; this one hands each formatted line back instead of storing it."""

    def write(self, value: str) -> str:
        return value


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def csv_lines(rows: Iterator[tuple]) -> Iterator[str]:
    writer = csv.writer(_Echo())
    yield writer.writerow(COLUMNS)
    for row in rows:
        yield writer.writerow([_cell(value) for value in row])


class JsonErrorsNegotiation(BaseContentNegotiation):
    """Whatever the client accepts, an error here is JSON, the API's one error shape."""

    def select_parser(self, request: Request, parsers: Iterable[BaseParser]) -> BaseParser | None:
        return next(iter(parsers), None)

    def select_renderer(self, request: Request, renderers: Iterable[BaseRenderer],
                        format_suffix: str | None = None) -> tuple[BaseRenderer, str]:
        return JSONRenderer(), JSONRenderer.media_type


class InstanceExportView(ProductScopedAPIMixin, StaffViewMixin, generics.GenericAPIView):
    queryset = instances_for_api()
    filterset_class = InstanceFilter
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JsonErrorsNegotiation
    pagination_class = None

    @extend_schema(summary="Export instances as CSV", filters=True, operation_id="instances_export_csv",
                   description="Every instance matching the same filters as the list, streamed; one row each.",
                   responses={(200, "text/csv"): OpenApiTypes.STR})
    def get(self, request: Request) -> StreamingHttpResponse:
        # values_list: no model instances, and the joins come from the one streamed query.
        rows = self.filter_queryset(self.get_queryset()).values_list(*_FIELDS).iterator(chunk_size=CHUNK_SIZE)
        response = StreamingHttpResponse(csv_lines(rows), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = 'attachment; filename="instances.csv"'
        return response
