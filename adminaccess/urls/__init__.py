"""Administrativ Adgang, under /admin/. Each section has its own URL module beside this one."""

from django.urls import include, path

from adminaccess.views import home

app_name = "adminaccess"

urlpatterns = [
    path("", home.home, name="home"),
    path("organisation/", home.switch_organisation, name="switch-organisation"),
    path("", include("adminaccess.urls.systems")),
    path("", include("adminaccess.urls.roles")),
    path("", include("adminaccess.urls.eventlog")),
    path("", include("adminaccess.urls.citizenservice")),
    path("contact-structure/", include("contactstructure.urls")),
]
