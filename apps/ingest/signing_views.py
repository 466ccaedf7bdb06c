"""Where the public keys of signed answers are shown: a JSON key set for instances, an admin page for staff."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.ingest import signing
from apps.ingest.parsers import FirstChoiceNegotiation, OrjsonRenderer
from apps.ingest.signing_keys import key_set, keyring
from apps.ingest.signing_openapi import KEY_SET
from apps.ingest.views import CORS_HEADERS

# Instances and build pipelines may fetch the key set often; a rotation is announced well ahead.
KEY_SET_MAX_AGE = 3600


class SigningKeysView(APIView):
    """Public, like the keys: no authentication, and errors in the project's JSON shape."""

    http_method_names = ["get", "head"]
    authentication_classes: list[Any] = []
    permission_classes: list[Any] = []
    renderer_classes = [OrjsonRenderer]
    content_negotiation_class = FirstChoiceNegotiation

    @property
    def default_response_headers(self) -> dict[str, str]:
        return {**CORS_HEADERS, "Allow": "GET, HEAD"}

    @extend_schema(operation_id="signing_keys", tags=["ingest"], auth=[],
                   summary="Public keys that verify signed ingest answers",
                   description="No authentication. Ship these keys with your product; a rotation publishes the next "
                               "key here before it signs.",
                   responses={200: OpenApiResponse(KEY_SET, description="The published keys.")})
    def get(self, request: Request) -> Response:
        return Response(key_set(), headers={"Cache-Control": f"public, max-age={KEY_SET_MAX_AGE}"})


signing_keys_view = SigningKeysView.as_view()


def signing_keys_admin_view(request: HttpRequest) -> HttpResponse:
    """Any staff member may see the public keys (they are public); rotation happens in the settings."""
    keys = keyring()
    return TemplateResponse(request, "admin/ingest/signing_keys.html", {
        **admin.site.each_context(request),
        "title": "Answer signing keys",
        "keys": keys.published,
        "signing_kid": keys.kid,
        "header": signing.HEADER,
        "nonce_header": signing.NONCE_HEADER,
        "key_set_url": request.build_absolute_uri(reverse("ingest:signing-keys")),
    })
