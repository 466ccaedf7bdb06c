from django.apps import AppConfig


class StaffApiConfig(AppConfig):
    name = "apps.staff_api"
    verbose_name = "Staff API"
