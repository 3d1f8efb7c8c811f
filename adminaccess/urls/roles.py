"""Users and roles section (Rettighedsportalen): user administrators grant and remove roles."""

from django.urls import path

from adminaccess.views import roles

urlpatterns = [
    path("roles/", roles.role_list, name="roles"),
    path("roles/grant/", roles.role_grant, name="roles-grant"),
    path("roles/<int:pk>/remove/", roles.role_remove, name="roles-remove"),
]
