"""Reads for mailboxes."""

from __future__ import annotations

from django.db.models import QuerySet

from mailbox.models import Folder, Mailbox, MailboxItem


def mailbox_items_in_folder(*, mailbox: Mailbox, kind: str = Folder.Kind.INBOX) -> QuerySet[MailboxItem]:
    """The items in one standard folder of a mailbox, newest first."""
    return (
        MailboxItem.objects.filter(mailbox=mailbox, folder__kind=kind, deleted_at__isnull=True)
        .select_related("message")
        .order_by("-received_at")
    )
