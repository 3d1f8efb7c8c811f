"""Building MeMo messages and calling the API as a system would."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, date, datetime

from memo import model as m
from memo.writer import serialize


def letter(
    *,
    sender_cvr: str,
    recipient_id: str,
    recipient_type: str = "CPR",
    message_uuid: uuid.UUID | None = None,
    label: str = "Brev fra kommunen",
    value_date: date | None = None,
    legal_notification: bool = False,
    mandatory: bool = False,
    contact_point_id: str | None = None,
    kle: str | None = None,
    nemsms: bool = False,
) -> tuple[uuid.UUID, bytes]:
    message_uuid = message_uuid or uuid.uuid4()
    content_data = None
    if kle:
        content_data = m.ContentData(kle_data=m.KLEData(subject_key=kle, version="1", label="KLE"))
    header = m.MessageHeader(
        message_type=m.MessageType.NEMSMS if nemsms else m.MessageType.DIGITALPOST,
        message_uuid=message_uuid,
        label=label,
        notification="Ny besked" if nemsms else None,
        do_not_deliver_until_date=value_date,
        mandatory=mandatory,
        legal_notification=legal_notification,
        sender=m.Sender(sender_id=sender_cvr, id_type="CVR", label="Afsender"),
        recipient=m.Recipient(
            recipient_id=recipient_id,
            id_type=recipient_type,
            contact_point=m.ContactPoint(contact_point_id=contact_point_id) if contact_point_id else None,
        ),
        content_data=content_data,
    )
    body = None
    if not nemsms:
        body = m.MessageBody(
            created_datetime=datetime(2026, 1, 1, tzinfo=UTC),
            main_document=m.MainDocument(
                label="Brev",
                files=[m.File.from_bytes(b"Hej", filename="brev.txt", encoding_format="text/plain")],
            ),
        )
    return message_uuid, serialize(m.Message(memo_version="1.2", header=header, body=body))


def basic(system, token: str) -> dict:
    raw = f"{system.system_id}:{token}".encode()
    return {"HTTP_AUTHORIZATION": "Basic " + base64.b64encode(raw).decode()}


def send(client, system, token, data: bytes, message_uuid, content_type="application/xml", **extra):
    return client.post(
        f"/apis/v1/memos/?memo-message-uuid={message_uuid}",
        data=data,
        content_type=content_type,
        **basic(system, token),
        **extra,
    )


def recall(client, system, token, message_uuid, **extra):
    return client.delete(f"/apis/v1/memos/{message_uuid}", **basic(system, token), **extra)


def send_rows() -> dict[str, int]:
    """Rows a send can write: a refused request must leave every count as it was."""
    from adminaccess.models import Event
    from mailbox.models import Delivery, MailboxItem, Message, Receipt
    from tests.factories import row_counts

    return row_counts(Message, Receipt, Delivery, Event, MailboxItem)


def stored_memo_names(path: str = "memo", storage=None) -> set[str]:
    """The names of every MeMo kept in the memo storage, or in ``storage`` (under ``path``)."""
    from mailbox.storage import memo_storage

    storage = storage or memo_storage()
    try:
        folders, files = storage.listdir(path)
    except FileNotFoundError:
        return set()
    found = {f"{path}/{name}" for name in files}
    for folder in folders:
        found |= stored_memo_names(f"{path}/{folder}", storage)
    return found
