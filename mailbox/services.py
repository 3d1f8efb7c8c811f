"""Writes for mailboxes."""

from __future__ import annotations

from mailbox.models import Folder, Mailbox

from django.db import transaction

STANDARD_FOLDERS = (Folder.Kind.INBOX, Folder.Kind.SENT, Folder.Kind.DRAFTS, Folder.Kind.BIN)


@transaction.atomic
def mailbox_create(*, person=None, organisation=None) -> Mailbox:
    """A mailbox with its four standard folders. Exactly one of person / organisation."""
    if (person is None) == (organisation is None):
        raise ValueError("A mailbox has exactly one owner: a person or an organisation.")
    mailbox = Mailbox.objects.create(owner_person=person, owner_organisation=organisation)
    Folder.objects.bulk_create(
        Folder(mailbox=mailbox, kind=kind, name=kind.value) for kind in STANDARD_FOLDERS
    )
    return mailbox
