"""The staff REST API under /api/v1/, its OpenAPI schema at /api/schema/ and offline docs at /api/docs/."""

from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView
from rest_framework.routers import DefaultRouter

from . import views

router = DefaultRouter(use_regex_path=False)
# No ".json"/".csv" suffix routes; with `int` lookups `instances/export.csv` can never read as an instance.
router.include_format_suffixes = False
router.register("products", views.ProductViewSet, basename="product")
router.register("instances", views.InstanceViewSet, basename="instance")
router.register("events", views.EventViewSet, basename="event")
router.register("installations", views.InstallationViewSet, basename="installation")
router.register("licenses", views.LicenseViewSet, basename="license")
router.register("rollups/daily", views.DailyRollupViewSet, basename="rollup-daily")
router.register("reports", views.ReportViewSet, basename="report")
router.register("alert-channels", views.AlertChannelViewSet, basename="alert-channel")
router.register("alert-rules", views.AlertRuleViewSet, basename="alert-rule")
router.register("alerts", views.AlertViewSet, basename="alert")

app_name = "staff_api"
urlpatterns = [
    # Before the router, and named explicitly, so it is matched as the export and not as a detail route.
    path("api/v1/instances/export.csv", views.InstanceExportView.as_view(), name="instance-export"),
    path("api/v1/", include(router.urls)),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up code as a script file: the CSP allows no inline scripts.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="staff_api:schema"), name="docs"),
]
