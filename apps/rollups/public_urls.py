"""Public statistics, mounted at /stats/ (no login)."""

from django.urls import path

from .public_views import public_badge_view, public_stats_view

urlpatterns = [
    path("<slug:slug>/", public_stats_view, name="public-stats"),
    path("<slug:slug>/badge.svg", public_badge_view, name="public-badge"),
]
