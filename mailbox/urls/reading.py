from django.urls import path

from mailbox.views import reading

urlpatterns = [
    path("", reading.inbox, name="inbox"),
    path("mailbox/<int:mailbox_id>/", reading.switch_mailbox, name="switch-mailbox"),
]
