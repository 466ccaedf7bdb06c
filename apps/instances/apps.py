from django.apps import AppConfig


class InstancesConfig(AppConfig):
    name = "apps.instances"
    verbose_name = "Instances"
