"""OpenAPI details drf-spectacular cannot infer: the error responses every staff endpoint can give."""

from typing import Any

from drf_spectacular.authentication import SessionScheme
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import Direction
from rest_framework import serializers


class VerifiedSessionScheme(SessionScheme):
    """The admin session, documented as DRF's (drf-spectacular finds extensions by class)."""

    target_class = "apps.staff_api.authentication.VerifiedSessionAuthentication"


class ErrorSerializer(serializers.Serializer):
    """The one error shape of the API (apps/core/exceptions.py)."""

    code = serializers.CharField(help_text="Stable machine-readable code, e.g. `not_found`, `invalid`.")
    message = serializers.CharField(help_text="Human-readable explanation.")
    details = serializers.JSONField(required=False, help_text="Per-field errors of a validation failure.")

    class Meta:
        ref_name = "Error"


_ALWAYS = {
    "401": "Missing or invalid credentials (an ingest key is not a staff credential).",
    "403": "Authenticated, but not a staff user.",
    "404": "No such object, page or cursor.",
    "429": "Too many wrong tokens from this client address; retry after the Retry-After seconds.",
}
_WITH_INPUT = {"400": "Invalid filter, query or request body."}
_WITH_BODY = {"415": "Unsupported request content type."}


class StaffAutoSchema(AutoSchema):
    def get_tags(self) -> list[str]:
        # /api/v1/<resource>/...: one tag per resource rather than one "v1" for everything.
        parts = [part for part in self.path.split("/") if part and not part.startswith("{")]
        return [parts[2].split(".")[0]] if len(parts) > 2 else super().get_tags()

    def _get_response_bodies(self, direction: Direction = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        errors = dict(_ALWAYS)
        if self.method != "GET" or self._is_list_view() or self._get_filter_parameters():
            errors.update(_WITH_INPUT)
        if self.method in ("POST", "PUT", "PATCH"):
            errors.update(_WITH_BODY)
        for code, description in errors.items():
            if code not in responses:
                responses[code] = {**self._get_response_for_code(ErrorSerializer, code, direction=direction),
                                   "description": description}
        return responses
