"""Storing a parsed MeMo: rows, files in storage, actions; delivery to the inbox once."""

import hashlib
import uuid
from datetime import UTC, datetime

import pytest

from mailbox.models import Action, Document, DocumentFile, MailboxItem, Message
from mailbox.services import document_file_content, message_deliver_to_mailbox, message_store
from memo import model as m
from memo.writer import serialize


def _letter(sender, recipient, *, files, actions=()):
    return m.Message(
        memo_version="1.2",
        header=m.MessageHeader(
            message_type=m.MessageType.DIGITALPOST,
            message_uuid=uuid.uuid4(),
            label="Brev",
            reply=True,
            reply_by_datetime=datetime(2030, 1, 2, 12, 0, tzinfo=UTC),
            do_not_deliver_until_date=None,
            legal_notification=True,
            sender=m.Sender(sender_id=sender.cvr, id_type="CVR", label=sender.name),
            recipient=m.Recipient(recipient_id=recipient.cpr, id_type="CPR"),
        ),
        body=m.MessageBody(
            created_datetime=datetime(2030, 1, 1, tzinfo=UTC),
            main_document=m.MainDocument(label="Hoved", files=files[:1], actions=list(actions)),
            additional_documents=[m.AdditionalDocument(label="Bilag", files=files[1:])],
        ),
    )


@pytest.fixture
def stored(db, authority, citizen):
    files = [
        m.File.from_bytes(b"%PDF-1.4 main", filename="brev.pdf", encoding_format="application/pdf"),
        m.File.from_bytes(b"attachment text", filename="bilag.txt", encoding_format="text/plain"),
    ]
    start = datetime(2030, 2, 1, 9, 0, tzinfo=UTC)
    actions = [
        m.Action(
            label="Betal",
            action_code="BETALING",
            end_datetime=start,
            entry_point=m.EntryPoint(url="https://pay.example.dk/x"),
        ),
        m.Action(
            label="Book",
            action_code="AFTALE",
            reservation=m.Reservation(
                description="Møde",
                reservation_uuid=uuid.uuid4(),
                abstract="Møde",
                location="Rådhuset",
                start_datetime=start,
                end_datetime=start.replace(hour=10),
            ),
        ),
    ]
    memo = _letter(authority, citizen, files=files, actions=actions)
    data = serialize(memo)
    message = message_store(
        memo=memo,
        memo_bytes=data,
        channel=Message.Channel.MAILBOX,
        state=Message.State.ACCEPTED,
        sender_organisation=authority,
        recipient_mailbox=citizen.mailbox,
    )
    return message, memo, data


def test_it_records_the_header_fields_that_matter_for_querying(stored, authority, citizen):
    message, memo, data = stored
    message.refresh_from_db()
    assert message.message_uuid == memo.header.message_uuid
    assert (message.sender_id_type, message.sender_id, message.sender_label) == (
        "CVR",
        authority.cvr,
        authority.name,
    )
    assert (message.recipient_id_type, message.recipient_id) == ("CPR", citizen.cpr)
    assert message.reply_allowed is True
    assert message.reply_by == datetime(2030, 1, 2, 12, 0, tzinfo=UTC)
    assert message.legal_notification is True
    assert message.mandatory is False
    assert message.memo_size == len(data)
    assert message.memo_sha256 == hashlib.sha256(data).hexdigest()
    with message.memo_file.open("rb") as stored_memo:
        assert stored_memo.read() == data


def test_it_stores_documents_and_extracts_their_bytes_when_first_needed(stored):
    message, _, _ = stored
    documents = list(Document.objects.filter(message=message).order_by("position"))
    assert [(d.kind, d.label) for d in documents] == [("MAIN", "Hoved"), ("ADDITIONAL", "Bilag")]
    files = list(DocumentFile.objects.filter(document__message=message).order_by("document__position"))
    assert [(f.filename, f.mime_type, f.size) for f in files] == [
        ("brev.pdf", "application/pdf", 13),
        ("bilag.txt", "text/plain", 15),
    ]
    # Ingest writes only the MeMo; a file is extracted from it the first time it is needed.
    assert (files[1].content.name, files[1].sha256) == ("", "")
    assert document_file_content(files[1]) == b"attachment text"
    files[1].refresh_from_db()
    assert files[1].sha256 == hashlib.sha256(b"attachment text").hexdigest()
    with files[1].content.open("rb") as kept:
        assert kept.read() == b"attachment text"
    assert document_file_content(files[0]) == b"%PDF-1.4 main"


def test_it_stores_actions_with_url_or_reservation(stored):
    message, _, _ = stored
    pay, book = Action.objects.filter(document__message=message).order_by("position")
    assert (pay.action_code, pay.url, pay.reservation) == ("BETALING", "https://pay.example.dk/x", None)
    assert pay.end_at == datetime(2030, 2, 1, 9, 0, tzinfo=UTC)
    assert book.url == ""
    assert book.reservation["location"] == "Rådhuset"
    assert book.reservation["start"] == "2030-02-01T09:00:00+00:00"


def test_delivering_twice_leaves_one_inbox_item(stored, citizen):
    message, _, _ = stored
    first = message_deliver_to_mailbox(message=message)
    second = message_deliver_to_mailbox(message=message)
    assert first.pk == second.pk
    assert MailboxItem.objects.filter(message=message).count() == 1
    message.refresh_from_db()
    assert message.state == Message.State.DELIVERED
    assert first.folder.kind == "INBOX"
    assert first.mailbox == citizen.mailbox
