from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "apps.accounts"
    verbose_name = "Staff access"
    default_auto_field = "django.db.models.BigAutoField"
