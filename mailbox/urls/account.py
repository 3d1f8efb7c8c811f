"""Inbox URLs (see mailbox/urls/__init__.py): access on one's behalf, company employees,
settings and devices."""

from django.urls import path

from mailbox.views import account

urlpatterns = [
    path("access/", account.access, name="access"),
    path("access/<int:access_id>/revoke/", account.access_revoke, name="access-revoke"),
    path("company-employees/", account.company_employees, name="company-employees"),
    path(
        "company-employees/<int:access_id>/remove/",
        account.company_employee_remove,
        name="company-employee-remove",
    ),
    path("settings/", account.settings_page, name="settings"),
    path("settings/nemsms/", account.settings_nemsms, name="settings-nemsms"),
    path("settings/language/", account.settings_language, name="settings-language"),
    path("settings/<str:kind>/", account.settings_contact, name="settings-contact"),
    path("devices/", account.devices, name="devices"),
    path("devices/new-mail/", account.new_mail_notice, name="new-mail-notice"),
    path("devices/logout-others/", account.devices_logout_others, name="devices-logout-others"),
    path("devices/<int:pk>/logout/", account.device_logout, name="device-logout"),
    path("devices/<int:pk>/notifications/", account.device_notifications, name="device-notifications"),
]
