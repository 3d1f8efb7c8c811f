"""Building the world a writer writes in: authorities with recipient systems, letters to reply to."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from adminaccess.models import Event, System
from mailbox.models import Delivery, Draft, DraftAttachment, MailboxItem, Message, Receipt
from mailbox.sending import memo_send
from memo import model as m
from memo import serialize
from tests.factories import make_system, row_counts


def recipient_system(organisation, *, default: bool = False, name: str = "Recipient system") -> System:
    system, _ = make_system(
        organisation,
        kind=System.Kind.RECIPIENT,
        protocol=System.Protocol.REST_PULL,
        is_default=default,
        name=name,
    )
    return system


def letter_bytes(
    *,
    authority,
    recipient_id: str,
    recipient_type: str = "CPR",
    reply: bool = True,
    reply_by: datetime | None = None,
    sender_contact_point: str | None = None,
    case_id: str | None = None,
    message_id: str | None = "SAG-1",
) -> tuple[uuid.UUID, bytes]:
    message_uuid = uuid.uuid4()
    header = m.MessageHeader(
        message_type=m.MessageType.DIGITALPOST,
        message_uuid=message_uuid,
        message_id=message_id,
        label="Din ansøgning",
        reply=reply,
        reply_by_datetime=reply_by,
        sender=m.Sender(
            sender_id=authority.cvr,
            id_type="CVR",
            label=authority.name,
            contact_point=m.ContactPoint(contact_point_id=sender_contact_point)
            if sender_contact_point
            else None,
        ),
        recipient=m.Recipient(recipient_id=recipient_id, id_type=recipient_type),
        content_data=m.ContentData(case_id=m.CaseID(case_id=case_id, case_system="ESDH"))
        if case_id
        else None,
    )
    body = m.MessageBody(
        created_datetime=datetime(2026, 1, 1, tzinfo=UTC),
        main_document=m.MainDocument(
            label="Brev", files=[m.File.from_bytes(b"Hej", filename="brev.txt", encoding_format="text/plain")]
        ),
    )
    return message_uuid, serialize(m.Message(memo_version="1.2", header=header, body=body))


def delivered_letter(django_capture_on_commit_callbacks, *, authority, mailbox, **kwargs) -> MailboxItem:
    """A letter from ``authority`` sent through the API and delivered to ``mailbox``'s inbox."""
    sender, _ = make_system(authority, kind=System.Kind.SENDER, name="Sender")
    message_uuid, data = letter_bytes(
        authority=authority,
        recipient_id=mailbox.owner_identifier,
        recipient_type=mailbox.owner_id_type,
        **kwargs,
    )
    with django_capture_on_commit_callbacks(execute=True):
        memo_send(data=data, system=sender, expected_uuid=message_uuid)
    return MailboxItem.objects.select_related("message").get(
        mailbox=mailbox, message__message_uuid=message_uuid
    )


def writing_rows() -> dict[str, int]:
    """Rows writing can touch: a refused request must leave each count as it was."""
    return row_counts(Message, Delivery, Event, MailboxItem, Receipt, Draft, DraftAttachment)
