from django_filters.rest_framework import DjangoFilterBackend

from apps.core.db_router import ReplicaReadsMixin
from apps.staff_api.schema import StaffAutoSchema


class StaffViewMixin(ReplicaReadsMixin):
    # What every staff endpoint shares; authentication and IsAdminUser come from REST_FRAMEWORK settings.
    # Its GETs (lists, details, the CSV export) may read from the read replica; every other method uses the primary.

    schema = StaffAutoSchema()
    filter_backends = [DjangoFilterBackend]
