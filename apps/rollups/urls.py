"""Fleet dashboard pages, mounted under /admin/fleet/ and guarded by the admin's login."""

from django.contrib import admin
from django.urls import path

from .views import fleet_dashboard_view

urlpatterns = [
    path("", admin.site.admin_view(fleet_dashboard_view), name="fleet-dashboard-index"),
    path("<slug:slug>/", admin.site.admin_view(fleet_dashboard_view), name="fleet-dashboard"),
]
