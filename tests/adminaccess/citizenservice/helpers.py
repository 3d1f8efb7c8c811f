"""Staff members and lookups for the citizen-service tests."""

from __future__ import annotations

from django.urls import reverse

from rights.services import staff_role_grant
from tests.factories import OrganisationFactory, PersonFactory


def make_staff(*roles: str, organisation=None, name: str = "Staff Member"):
    """A person with a login holding ``roles`` in ``organisation`` (a new authority if none)."""
    organisation = organisation or OrganisationFactory(name="Borgerservice Kommune")
    person = PersonFactory(name=name)
    for role in roles:
        staff_role_grant(user=person.user, organisation=organisation, role=role)
    return person


def look_up(client, number: str):
    """Look a CPR/CVR number up as the logged-in staff member; the response (a redirect if found)."""
    return client.post(reverse("adminaccess:citizen-service"), {"number": number})


def party_url(mailbox, action: str = "", **kwargs) -> str:
    name = f"adminaccess:citizen-service-{action}" if action else "adminaccess:citizen-service-party"
    return reverse(name, kwargs={"mailbox_id": mailbox.pk, **kwargs})


def api_letter(authority, cpr: str, label: str = "Et brev"):
    """A MeMo letter as a sender system would send it: (bytes, messageUUID)."""
    import uuid
    from datetime import UTC, datetime

    from memo import model as m
    from memo.writer import serialize

    memo = m.Message(
        memo_version="1.2",
        header=m.MessageHeader(
            message_type=m.MessageType.DIGITALPOST,
            message_uuid=uuid.uuid4(),
            label=label,
            notification="Du har fået post.",
            sender=m.Sender(sender_id=authority.cvr, id_type="CVR", label=authority.name),
            recipient=m.Recipient(recipient_id=cpr, id_type="CPR"),
        ),
        body=m.MessageBody(
            created_datetime=datetime.now(UTC).replace(microsecond=0),
            main_document=m.MainDocument(
                label=label,
                files=[m.File.from_bytes(b"Hej", filename="brev.txt", encoding_format="text/plain")],
            ),
        ),
    )
    return serialize(memo), memo.header.message_uuid
