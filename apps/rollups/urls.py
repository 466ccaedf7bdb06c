"""Fleet pages, mounted under /admin/fleet/ and guarded by the admin's login."""

from django.contrib import admin
from django.urls import path

from .views import fleet_dashboard_view, fleet_live_view, fleet_overview_view, fleet_rebuild_view

urlpatterns = [
    path("", admin.site.admin_view(fleet_overview_view), name="fleet-dashboard-index"),
    path("<slug:slug>/", admin.site.admin_view(fleet_dashboard_view), name="fleet-dashboard"),
    path("<slug:slug>/rebuild/", admin.site.admin_view(fleet_rebuild_view), name="fleet-rebuild"),
    path("<slug:slug>/live.json", admin.site.admin_view(fleet_live_view), name="fleet-live"),
]
