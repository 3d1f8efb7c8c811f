"""Reads for mailboxes."""

from __future__ import annotations

from django.db.models import QuerySet

from mailbox.models import Folder, MailboxItem
from rights.models import Person


def mailbox_items_in_folder(*, person: Person, kind: str = Folder.Kind.INBOX) -> QuerySet[MailboxItem]:
    """The person's own items in one standard folder, newest first."""
    return (
        MailboxItem.objects.filter(mailbox__owner_person=person, folder__kind=kind, deleted_at__isnull=True)
        .select_related("message")
        .order_by("-received_at")
    )
