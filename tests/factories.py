"""Factories for tests. They go through the services, so test data obeys the same rules."""

from __future__ import annotations

import hashlib
import re
import uuid
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType

import factory
import pytest
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, models, transaction

from adminaccess.models import System
from adminaccess.services import system_create
from contactstructure.models import ContactPoint
from mailbox.models import Exemption, Folder, MailboxItem, Message
from rights.models import MailboxAccess, Organisation, Person
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


def make_access(*, mailbox=None, grantee: Person | None = None, **fields) -> MailboxAccess:
    """A live read grant on someone's mailbox (there is no grant service yet)."""
    mailbox = mailbox or PersonFactory().mailbox
    grantee = grantee or PersonFactory()
    fields.setdefault("level", MailboxAccess.Level.READ)
    return MailboxAccess.objects.create(mailbox=mailbox, grantee=grantee, **fields)


def make_exemption(*, mailbox=None, **fields) -> Exemption:
    """An open exemption from digital post (there is no exemption service yet)."""
    mailbox = mailbox or PersonFactory().mailbox
    fields.setdefault("reason", "No digital access")
    return Exemption.objects.create(mailbox=mailbox, **fields)


def make_contact_point(organisation: Organisation | None = None, **fields) -> ContactPoint:
    """A contact point an authority can be written to (there is no contact-structure service yet)."""
    organisation = organisation or OrganisationFactory()
    fields.setdefault("contact_point_id", f"cp-{uuid.uuid4().hex[:12]}")
    fields.setdefault("label", "Borgerservice")
    return ContactPoint.objects.create(organisation=organisation, **fields)


@contextmanager
def violates(constraint: str, model: type[models.Model]):
    """Expect the database to refuse the write in the block because of ``constraint``.

    The block runs in a savepoint, so the test can go on afterwards; the model's row count
    must be what it was. The error must name the constraint (PostgreSQL always does, SQLite
    for check constraints) or, for a unique constraint on SQLite, exactly its columns, so a
    test cannot pass because some other rule (a NOT NULL, another unique) refused the row.
    """
    [declared] = [c for c in model._meta.constraints if c.name == constraint]
    # Count through the base manager: a default manager might hide rows.
    before = model._base_manager.count()
    with pytest.raises(IntegrityError) as refused, transaction.atomic():
        yield
    assert model._base_manager.count() == before
    error = str(refused.value)
    if connection.vendor == "sqlite" and isinstance(declared, models.UniqueConstraint):
        table = model._meta.db_table
        columns = ", ".join(f"{table}.{model._meta.get_field(f).column}" for f in declared.fields)
        assert error == f"UNIQUE constraint failed: {columns}", error
    else:
        assert f'"{constraint}"' in error or error.endswith(f": {constraint}"), error


def row_counts(*model_classes: type[models.Model]) -> dict[str, int]:
    """How many rows each model has, to show that a refused request changed nothing."""
    return {m.__name__: m._base_manager.count() for m in model_classes}


def declared_constraints(module: ModuleType) -> set[str]:
    """The names of the constraints of every model defined in a models module."""
    return {
        constraint.name
        for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, models.Model) and value.__module__ == module.__name__
        for constraint in value._meta.constraints
    }


def constraints_violated_in(test_file: str) -> set[str]:
    """The constraint names a test module hands to :func:`violates`."""
    return set(re.findall(r'violates\(\s*"(\w+)"', Path(test_file).read_text()))
