"""Inbox URLs for reading: folders, messages, documents, and a reader's changes."""

from django.urls import path

from mailbox.views import reading

urlpatterns = [
    path("", reading.inbox, name="inbox"),
    path("folder/<int:folder_id>/", reading.folder, name="folder"),
    path("folders/", reading.folders, name="folders"),
    path("folders/<int:folder_id>/rename/", reading.folder_rename, name="folder-rename"),
    path("folders/<int:folder_id>/delete/", reading.folder_delete, name="folder-delete"),
    path("bin/empty/", reading.bin_empty, name="bin-empty"),
    path("selected/", reading.selected, name="selected"),
    path("message/<int:item_id>/", reading.message, name="message"),
    path("message/<int:item_id>/file/<int:file_id>/", reading.document, name="message-document"),
    path("message/<int:item_id>/appointment/<int:action_id>.ics", reading.calendar, name="message-calendar"),
    path("message/<int:item_id>/flag/", reading.flag, name="message-flag"),
    path("message/<int:item_id>/unread/", reading.mark_unread, name="message-unread"),
    path("message/<int:item_id>/move/", reading.move, name="message-move"),
    path("message/<int:item_id>/delete/", reading.delete, name="message-delete"),
    path("message/<int:item_id>/restore/", reading.restore, name="message-restore"),
    path("mailbox/<int:mailbox_id>/", reading.switch_mailbox, name="switch-mailbox"),
]
