# The staff REST API under /api/v1/ and the OpenAPI schema are wired here by the staff API issue.
urlpatterns: list = []
