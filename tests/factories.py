"""Factories for tests. They go through the services, so test data obeys the same rules."""

from __future__ import annotations

import hashlib
import uuid

import factory
from django.core.files.base import ContentFile

from adminaccess.models import System
from adminaccess.services import system_create
from mailbox.models import Folder, MailboxItem, Message
from rights.models import Organisation, Person
from rights.services import organisation_create, person_create


class OrganisationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Organisation

    cvr = factory.Sequence(lambda n: f"{30000000 + n:08d}")
    name = factory.Sequence(lambda n: f"Organisation {n}")
    kind = Organisation.Kind.AUTHORITY

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return organisation_create(**kwargs)


class CompanyFactory(OrganisationFactory):
    kind = Organisation.Kind.COMPANY


class PersonFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Person

    cpr = factory.Sequence(lambda n: f"{1000000000 + n:010d}")
    name = factory.Sequence(lambda n: f"Person {n}")

    @classmethod
    def _create(cls, model_class, *args, **kwargs):
        return person_create(**kwargs)


def make_system(organisation=None, *, kind=System.Kind.SENDER, **kwargs) -> tuple[System, str]:
    organisation = organisation or OrganisationFactory()
    kwargs.setdefault("name", f"{kind.title()} system")
    return system_create(organisation=organisation, kind=kind, **kwargs)


def make_message(*, sender: Organisation | None = None, recipient: Person | None = None, **fields) -> Message:
    """A delivered letter in a person's inbox, without going through MeMo parsing."""
    sender = sender or OrganisationFactory()
    recipient = recipient or PersonFactory()
    body = fields.pop("memo_bytes", b"<memo/>")
    defaults = {
        "message_uuid": uuid.uuid4(),
        "memo_version": "1.2",
        "label": "A letter",
        "sender_id_type": "CVR",
        "sender_id": sender.cvr,
        "sender_label": sender.name,
        "sender_organisation": sender,
        "recipient_id_type": "CPR",
        "recipient_id": recipient.cpr,
        "recipient_mailbox": recipient.mailbox,
        "channel": Message.Channel.MAILBOX,
        "state": Message.State.DELIVERED,
        "memo_size": len(body),
        "memo_sha256": hashlib.sha256(body).hexdigest(),
    }
    defaults.update(fields)
    if defaults["state"] == Message.State.DELIVERED:
        from django.utils import timezone

        defaults.setdefault("delivered_at", timezone.now())
    message = Message(**defaults)
    message.memo_file.save(f"{defaults['message_uuid']}.xml", ContentFile(body), save=False)
    message.save()
    if message.state == Message.State.DELIVERED and message.recipient_mailbox_id:
        MailboxItem.objects.create(
            mailbox=message.recipient_mailbox,
            message=message,
            folder=Folder.objects.get(mailbox=message.recipient_mailbox, kind=Folder.Kind.INBOX),
        )
    return message
