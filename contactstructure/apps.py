from django.apps import AppConfig


class ContactStructureConfig(AppConfig):
    name = "contactstructure"
    verbose_name = "Contact structure"
