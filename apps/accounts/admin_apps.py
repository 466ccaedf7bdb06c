from django.contrib.admin.apps import AdminConfig


class StaffAdminConfig(AdminConfig):
    """django.contrib.admin with apps/accounts/admin_site.py as `admin.site`, so every
    `@admin.register` in the project lands on the site that checks second factors."""

    default_site = "apps.accounts.admin_site.StaffAdminSite"
