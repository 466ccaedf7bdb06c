"""The product's URLs plus the benchmark's no-database view, served only by `bench.settings`."""

from django.urls import path

from telemetry_site.urls import urlpatterns as product_urlpatterns

from .views import noop_json

urlpatterns = [path("bench/noop", noop_json, name="bench-noop"), *product_urlpatterns]
