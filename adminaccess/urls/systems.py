"""Systems section: sender and recipient systems, their tokens and certificates, and the logo."""

from django.urls import path

from adminaccess.views import logo, systems

urlpatterns = [
    path("systems/", systems.system_list, name="systems"),
    path("systems/new/", systems.system_create_view, name="systems-create"),
    path("systems/<int:pk>/", systems.system_detail, name="systems-detail"),
    path("systems/<int:pk>/edit/", systems.system_edit, name="systems-edit"),
    path("systems/<int:pk>/token/", systems.system_rotate_token_view, name="systems-rotate-token"),
    path("systems/<int:pk>/certificate/", systems.system_certificate, name="systems-certificate"),
    path(
        "systems/<int:pk>/certificate/remove/",
        systems.system_certificate_remove,
        name="systems-certificate-remove",
    ),
    path("systems/<int:pk>/default/", systems.system_default, name="systems-default"),
    path("systems/<int:pk>/reactivate/", systems.system_reactivate_view, name="systems-reactivate"),
    path("logo/", logo.logo, name="logo"),
    path("logo/remove/", logo.logo_remove, name="logo-remove"),
]
