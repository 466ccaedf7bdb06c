"""Where the public keys of signed answers are shown: a JSON key set for instances, an admin page for staff."""

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt

from apps.core.exceptions import error_body
from apps.ingest import signing
from apps.ingest.signing_keys import key_set, keyring
from apps.ingest.views import json_response

# Instances and build pipelines may fetch the key set often; a rotation is announced well ahead.
KEY_SET_MAX_AGE = 3600


@csrf_exempt
def signing_keys_view(request: HttpRequest) -> HttpResponse:
    if request.method not in ("GET", "HEAD"):
        return json_response(error_body("method_not_allowed", "Use GET."), status=405, headers={"Allow": "GET"})
    return json_response(key_set(), headers={"Cache-Control": f"public, max-age={KEY_SET_MAX_AGE}"})


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
