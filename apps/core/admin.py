"""Admin of the scheduled jobs (django-celery-beat's Periodic tasks), where it needs the broker.

"Run selected tasks" sends the tasks to the broker (Redis). With the broker down, the package's
action raised and the page answered 500; here it says what happened and that nothing was queued.
"""

import logging

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django_celery_beat.admin import PeriodicTaskAdmin
from django_celery_beat.models import PeriodicTask
from kombu.exceptions import OperationalError as BrokerUnavailable

from apps.core.models import Lease

logger = logging.getLogger(__name__)


class BrokerAwarePeriodicTaskAdmin(PeriodicTaskAdmin):

    @admin.action(description="Run selected tasks")
    def run_tasks(self, request: HttpRequest, queryset: QuerySet[PeriodicTask]) -> None:
        try:
            super().run_tasks(request, queryset)
        except (BrokerUnavailable, OSError) as exc:
            logger.warning("admin: broker unavailable, tasks not sent: %s", exc)
            self.message_user(request, "The task queue (Redis) cannot be reached, so no task was sent. Run them "
                              "again once it is back; scheduled runs resume by themselves.", level=messages.ERROR)


admin.site.unregister(PeriodicTask)
admin.site.register(PeriodicTask, BrokerAwarePeriodicTaskAdmin)


@admin.register(Lease)
class LeaseAdmin(admin.ModelAdmin):
    """Who plays a one-process role (the beat that sends tasks) and until when; read-only: the
    holders renew their leases themselves."""

    list_display = ["name", "holder", "expires_at"]
    list_filter = ["name"]
    search_fields = ["name", "holder"]
    readonly_fields = ["name", "holder", "expires_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Lease | None = None) -> bool:
        return False
