"""The one path of limit 1 (bench/middleware.py serves it before the project's middleware)."""

from django.urls import path

from .views import noop_json

urlpatterns = [path("bench/noop", noop_json, name="bench-noop")]
