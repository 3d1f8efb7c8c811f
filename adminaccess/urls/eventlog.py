"""Section URLs (see adminaccess/urls/__init__.py): event log, recall, usage statistics."""

from django.urls import path

from adminaccess.views import events, recall, statistics

urlpatterns = [
    path("events/", events.events, name="events"),
    path("events/export.csv", events.events_export, name="events-export"),
    path("recall/", recall.recall, name="recall"),
    path("recall/mass/", recall.recall_mass, name="recall-mass"),
    path("recall/<uuid:message_uuid>/", recall.recall_one, name="recall-one"),
    path("statistics/", statistics.statistics, name="statistics"),
    path("statistics/export.csv", statistics.statistics_export, name="statistics-export"),
]
