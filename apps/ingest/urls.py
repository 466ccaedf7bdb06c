# Ingest endpoints (Segment, PostHog, native, product-specific) are wired here by the ingest issue.
urlpatterns: list = []
