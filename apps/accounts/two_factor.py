"""Optional TOTP second factor for staff: each user sets up (or removes) one authenticator app.

The page lives in the admin (`admin:two_factor`). Setting up creates an unconfirmed django-otp
TOTPDevice, shows its secret as a QR code and as text, and confirms it only when the user enters a
code it produced; removing it also takes a current code. From then on the admin login asks for a code.
"""

from base64 import b32encode
from typing import Any

import segno
from django import forms
from django.contrib import admin, messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.safestring import mark_safe
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice


class CodeForm(forms.Form):
    code = forms.CharField(label="Code from your authenticator app", max_length=16,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))


def confirmed_device(user: Any) -> TOTPDevice | None:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).order_by("pk").first()


def has_confirmed_device(user: Any) -> bool:
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).exists()


def _pending_device(user: Any) -> TOTPDevice:
    """The device being set up: kept until confirmed, so reloading the page keeps the same secret."""
    device = TOTPDevice.objects.devices_for_user(user, confirmed=False).order_by("pk").first()
    return device or TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)


def _verified(device_id: int, code: str) -> TOTPDevice | None:
    with transaction.atomic():
        # Locked, as django-otp's own login does, so one code cannot be accepted twice at once.
        device = TOTPDevice.objects.select_for_update().get(pk=device_id)
        return device if device.verify_token(code) else None


def two_factor_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    device = confirmed_device(user)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        code = form.cleaned_data["code"]
        here = HttpResponseRedirect(reverse("admin:two_factor"))
        if device is not None and request.POST.get("action") == "remove":
            if _verified(device.pk, code):
                TOTPDevice.objects.filter(user=user).delete()
                messages.success(request, "Two-factor authentication is off; logins ask for your password only.")
                return here
        elif device is None and request.POST.get("action") == "confirm":
            pending = _pending_device(user)
            confirmed = _verified(pending.pk, code)
            if confirmed:
                with transaction.atomic():
                    TOTPDevice.objects.filter(user=user).exclude(pk=confirmed.pk).delete()
                    confirmed.confirmed = True
                    confirmed.save(update_fields=["confirmed"])
                # This session counts as verified: the user just proved they hold the authenticator.
                otp_login(request, confirmed)
                messages.success(request, "Two-factor authentication is on: the admin login now asks for a code.")
                return here
        form.add_error("code", "That code is not valid. Enter the code your app shows now.")
    context: dict[str, Any] = {**admin.site.each_context(request), "title": "Two-factor authentication",
                               "device": device, "form": form}
    if device is None:
        pending = _pending_device(user)
        context.update(
            secret=b32encode(pending.bin_key).decode(),
            qr_code=mark_safe(segno.make(pending.config_url, error="m").svg_inline(scale=4, border=2, light="#fff")),
        )
    return TemplateResponse(request, "admin/accounts/two_factor.html", context)
