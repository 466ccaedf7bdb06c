"""Limit 1 of the ingest benchmark: what the server configuration costs without any database work."""

import orjson
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST


@csrf_exempt
@require_POST
def noop_json(request: HttpRequest) -> HttpResponse:
    # Decode the same heartbeat body the ingest endpoint gets, so both pay for parsing it.
    record = orjson.loads(request.body)
    return HttpResponse(orjson.dumps({"ok": True, "fields": len(record)}), content_type="application/json")
