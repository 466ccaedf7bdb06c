from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "apps.events"
    verbose_name = "Events"

    def ready(self) -> None:
        from apps.events import receivers  # noqa: F401  (connects them)
