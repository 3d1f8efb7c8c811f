from django.apps import AppConfig


class RightsConfig(AppConfig):
    name = "rights"
    verbose_name = "Rights: people, organisations, roles and access"

    def ready(self):
        # Logging in and out records devices and applies the person's language.
        from rights import signals  # noqa: F401
