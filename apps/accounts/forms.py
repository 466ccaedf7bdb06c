from typing import Any

from django import forms
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django_otp.forms import OTPAuthenticationFormMixin
from django_otp.models import Device
from django_otp.plugins.otp_totp.models import TOTPDevice

from .two_factor import confirmed_device


class StaffLoginForm(OTPAuthenticationFormMixin, AdminAuthenticationForm):
    """The admin login: username and password, plus the authenticator code for users who set one up.

    The password is checked first (django-axes counts and locks failures); a wrong or missing code
    then counts as a failed login too, so guessing codes runs into the same lockout."""

    otp_token = forms.CharField(
        required=False, label="Authenticator code", max_length=16,
        help_text="Only if you set up two-factor authentication.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))

    otp_error_messages = {
        **OTPAuthenticationFormMixin.otp_error_messages,
        "token_required": "This account uses two-factor authentication: enter the code from your authenticator app.",
        "invalid_token": "That authenticator code is not valid. Enter the current code and your password again.",
    }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        user = self.get_user()
        if user is not None and confirmed_device(user) is not None:
            try:
                self.clean_otp(user)
            except forms.ValidationError:
                user_login_failed.send(sender=__name__, credentials={"username": cleaned.get("username")},
                                       request=self.request)
                raise
        return cleaned

    def _chosen_device(self, user: Any) -> Device | None:
        # One authenticator per user (apps/accounts/two_factor.py), so there is nothing to choose;
        # locked for the verification so two logins cannot both use one code.
        return TOTPDevice.objects.devices_for_user(user, confirmed=True).select_for_update().order_by("pk").first()

    def _update_form(self, user: Any) -> None:
        # django-otp would render the password back into the page; the user types it again instead.
        pass
