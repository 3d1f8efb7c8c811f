from django.apps import AppConfig


class RightsConfig(AppConfig):
    name = "rights"
    verbose_name = "Rights: people, organisations, roles and access"
