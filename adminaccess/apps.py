from django.apps import AppConfig


class AdminAccessConfig(AppConfig):
    name = "adminaccess"
    verbose_name = "Administrativ Adgang: systems and event log"
