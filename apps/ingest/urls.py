"""Ingest endpoints, at the site root (telemetry_site/urls.py includes this module first).

Paths are a public contract: Segment's and PostHog's SDKs and external tests call them.
"""

from django.urls import path, re_path

from apps.ingest.protocols.segment import MESSAGE_TYPES
from apps.ingest.signing_views import signing_keys_view
from apps.ingest.views import IngestView

app_name = "ingest"

urlpatterns = [
    path("api/v1/ingest", IngestView.as_view(protocol="native", style="native"), name="native"),
    *[route for protocol in ("hasura", "flowfuse", "wasp") for route in (
        path(f"api/v1/ingest/{protocol}", IngestView.as_view(protocol=protocol, style="product"), name=protocol),
        # Products whose ping carries no key (FlowFuse) are configured with a URL that holds it.
        path(f"api/v1/ingest/{protocol}/<str:key>", IngestView.as_view(protocol=protocol, style="product"),
             name=f"{protocol}-keyed"),
    )],
    # The public keys that verify the answers above (docs/signed-answers.md).
    path("api/v1/signing-keys", signing_keys_view, name="signing-keys"),
    path("v1/batch", IngestView.as_view(protocol="segment", style="segment"), name="segment-batch"),
    *[path(f"v1/{message_type}", IngestView.as_view(protocol="segment", style="segment",
                                               default_type=message_type),
           name=f"segment-{message_type}") for message_type in MESSAGE_TYPES],
    # PostHog's SDKs use these with and without the trailing slash; APPEND_SLASH cannot redirect a POST.
    *[re_path(rf"^{prefix}/?$", IngestView.as_view(protocol="posthog", style="posthog"), name=f"posthog-{name}")
      for prefix, name in (("batch", "batch"), ("capture", "capture"), ("e", "e"), ("i/v0/e", "i-v0-e"))],
]
