"""Product access on the user and group pages, and unlocking a locked-out login."""

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin, UserAdmin
from django.contrib.auth.models import Group
from django.db.models import QuerySet
from django.http import HttpRequest

from .lockout import login_unlock
from .models import ProductAccess, TeamProductAccess

User = get_user_model()


class ProductAccessInline(admin.StackedInline):
    model = ProductAccess
    can_delete = True
    filter_horizontal = ("products",)
    verbose_name_plural = "Limit to some products (no entry here: this user sees every product)"


class TeamProductAccessInline(admin.StackedInline):
    model = TeamProductAccess
    filter_horizontal = ("products",)
    verbose_name_plural = "Products of this team (for members limited to some products)"


admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(User)
class StaffUserAdmin(UserAdmin):
    inlines = [*UserAdmin.inlines, ProductAccessInline]
    actions = ["unlock_login"]

    @admin.action(description="Unlock the login of the selected users (after too many failed attempts)")
    def unlock_login(self, request: HttpRequest, queryset: QuerySet) -> None:
        cleared = sum(login_unlock(username=user.get_username()) for user in queryset)
        self.message_user(request, f"Cleared {cleared} failed-login record(s).", messages.SUCCESS)


@admin.register(Group)
class TeamAdmin(GroupAdmin):
    inlines = [*GroupAdmin.inlines, TeamProductAccessInline]
