from django.contrib import admin
from django.urls import include, path

from apps.core.views import healthz
from apps.ingest.signing_views import signing_keys_admin_view

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    # Admin pages of the staff experience: before admin.site.urls, whose catch-all would win.
    path("admin/fleet/", include("apps.rollups.urls")),
    path("admin/signing-keys/", admin.site.admin_view(signing_keys_admin_view), name="signing-keys-admin"),
    path("admin/", admin.site.urls),
    path("stats/", include("apps.rollups.public_urls")),  # public statistics of products that opted in
    path("", include("apps.ingest.urls")),
    path("", include("apps.staff_api.urls")),
]

# JSON `{"code", "message"}` for unknown URLs and crashes under /api/; the usual HTML pages elsewhere.
handler404 = "apps.core.error_views.not_found"
handler500 = "apps.core.error_views.server_error"
