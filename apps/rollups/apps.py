from django.apps import AppConfig


class RollupsConfig(AppConfig):
    name = "apps.rollups"
    verbose_name = "Rollups and reports"
