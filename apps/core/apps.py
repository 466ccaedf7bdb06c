from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "apps.core"
    verbose_name = "Core"

    def ready(self) -> None:
        from django.db.backends.signals import connection_created

        from apps.core.db_health import bound_waits

        connection_created.connect(bound_waits, dispatch_uid="apps.core.db_health.bound_waits")
