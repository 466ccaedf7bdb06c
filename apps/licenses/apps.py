from django.apps import AppConfig


class LicensesConfig(AppConfig):
    name = "apps.licenses"
    verbose_name = "Licenses"
