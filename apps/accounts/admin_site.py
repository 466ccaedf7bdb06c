from django.contrib import admin
from django.http import HttpRequest
from django.urls import URLPattern, URLResolver, path

from .forms import StaffLoginForm
from .two_factor import has_confirmed_device, two_factor_view

_SECOND_FACTOR_ATTRIBUTE = "_staff_has_second_factor"


class StaffAdminSite(admin.AdminSite):
    """The project's admin site (`admin.site`): a login with lockout and an optional second factor.

    A user who set up an authenticator is let in only by a session that was verified with it, so a
    session from before the set-up, or from any other login path, is sent back to the login page."""

    login_form = StaffLoginForm
    login_template = "admin/staff_login.html"

    def has_permission(self, request: HttpRequest) -> bool:
        if not super().has_permission(request):
            return False
        user = request.user
        verified = getattr(user, "is_verified", None)  # set by django-otp's middleware
        if verified is not None and verified():
            return True
        # Asked more than once per page (admin_view, each_context): one query per request.
        has_second_factor = getattr(request, _SECOND_FACTOR_ATTRIBUTE, None)
        if has_second_factor is None:
            has_second_factor = has_confirmed_device(user)
            setattr(request, _SECOND_FACTOR_ATTRIBUTE, has_second_factor)
        return not has_second_factor

    def get_urls(self) -> list[URLPattern | URLResolver]:
        return [path("two-factor/", self.admin_view(two_factor_view), name="two_factor"), *super().get_urls()]
