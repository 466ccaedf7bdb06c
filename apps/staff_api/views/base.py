from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from django_filters.rest_framework import DjangoFilterBackend
from rest_framework.filters import BaseFilterBackend
from rest_framework.schemas.inspectors import ViewInspector

from apps.core.db_router import ReplicaReadsMixin
from apps.staff_api.schema import StaffAutoSchema

if TYPE_CHECKING:
    from rest_framework.generics import BaseFilterProtocol  # the stubs' name for a duck-typed filter backend


class StaffViewMixin(ReplicaReadsMixin):
    # What every staff endpoint shares; authentication and IsAdminUser come from REST_FRAMEWORK settings.
    # Its GETs (lists, details, the CSV export) may read from the read replica; every other method uses the primary.

    schema: ViewInspector | None = StaffAutoSchema()
    filter_backends: "Sequence[type[BaseFilterBackend | BaseFilterProtocol[Any]]]" = [DjangoFilterBackend]
