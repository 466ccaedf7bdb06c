from django_filters.rest_framework import DjangoFilterBackend

from apps.staff_api.schema import StaffAutoSchema


class StaffViewMixin:
    # What every staff endpoint shares; authentication and IsAdminUser come from REST_FRAMEWORK settings.

    schema = StaffAutoSchema()
    filter_backends = [DjangoFilterBackend]
