"""Letters for the inbox tests: real MeMo messages, stored and delivered like any other."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from django.test import Client

from mailbox.models import Folder, MailboxItem, Message
from mailbox.pdf import render_letter_pdf
from mailbox.services import message_deliver_to_mailbox, message_store
from memo import model as m
from memo.writer import serialize

APPOINTMENT_START = datetime(2030, 3, 4, 9, 30, tzinfo=UTC)


def pdf_file(text: str, filename: str = "brev.pdf", sender: str = "Kommunen") -> m.File:
    data = render_letter_pdf(sender=sender, title="Brev", paragraphs=[text])
    return m.File.from_bytes(data, filename=filename, encoding_format="application/pdf")


def text_file(text: str, filename: str = "note.txt") -> m.File:
    return m.File.from_bytes(text.encode(), filename=filename, encoding_format="text/plain")


def html_file(html: str, filename: str = "brev.html") -> m.File:
    return m.File.from_bytes(html.encode(), filename=filename, encoding_format="text/html")


def appointment(**fields) -> m.Action:
    return m.Action(
        label="Tilføj til kalender",
        action_code="AFTALE",
        reservation=m.Reservation(
            description=fields.get("description", "Tandpleje"),
            reservation_uuid=fields.get("uuid", uuid.UUID("8a5f0e7e-9d3c-4a53-9a57-0d3f1c2b3a4d")),
            abstract=fields.get("abstract", "Tandeftersyn"),
            location=fields.get("location", "Tandklinikken, Skolevej 3, 8000 Aarhus C"),
            start_datetime=fields.get("start", APPOINTMENT_START),
            end_datetime=fields.get("end", APPOINTMENT_START + timedelta(minutes=30)),
            organizer_mail="tandpleje@kommune.example.dk",
            organizer_name="Aarhus Kommune",
        ),
    )


def self_service(url: str = "https://selvbetjening.example.dk/svar", *, end=None) -> m.Action:
    return m.Action(
        label="Svar på tilbuddet",
        action_code="SELVBETJENING",
        end_datetime=end,
        entry_point=m.EntryPoint(url=url),
    )


def deliver_letter(
    *,
    sender,
    recipient,
    label: str = "Et brev",
    files: list[m.File] | None = None,
    actions: list[m.Action] = (),
    reply: bool = False,
    reply_by: datetime | None = None,
    legal: bool = False,
    mandatory: bool = False,
    at: datetime | None = None,
) -> MailboxItem:
    """A MeMo letter from ``sender`` (Organisation) to ``recipient`` (Person or company), delivered."""
    files = files if files is not None else [text_file("Indhold af brevet.")]
    is_person = hasattr(recipient, "cpr")
    memo = m.Message(
        memo_version="1.2",
        header=m.MessageHeader(
            message_type=m.MessageType.DIGITALPOST,
            message_uuid=uuid.uuid4(),
            label=label,
            reply=reply,
            reply_by_datetime=reply_by,
            mandatory=mandatory,
            legal_notification=legal,
            sender=m.Sender(sender_id=sender.cvr, id_type="CVR", label=sender.name),
            recipient=m.Recipient(
                recipient_id=recipient.cpr if is_person else recipient.cvr,
                id_type="CPR" if is_person else "CVR",
            ),
        ),
        body=m.MessageBody(
            created_datetime=datetime.now(UTC).replace(microsecond=0),
            main_document=m.MainDocument(label=label, files=files[:1], actions=list(actions)),
            additional_documents=[m.AdditionalDocument(label=f.filename, files=[f]) for f in files[1:]],
        ),
    )
    message = message_store(
        memo=memo,
        memo_bytes=serialize(memo),
        channel=Message.Channel.MAILBOX,
        state=Message.State.ACCEPTED,
        sender_organisation=sender,
        recipient_mailbox=recipient.mailbox,
    )
    return message_deliver_to_mailbox(message=message, at=at)


def folder(mailbox, kind: str) -> Folder:
    return Folder.objects.get(mailbox=mailbox, kind=kind)


def logged_in(person, *, csrf: bool = True) -> Client:
    """A test client logged in as ``person``; CSRF checks on, as in a browser."""
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(person.user)
    return client


def csrf_token(client: Client) -> str:
    """A CSRF token for ``client``'s session (fetches a page to be issued one)."""
    client.get("/post/")
    return client.cookies["csrftoken"].value


def post(client: Client, url: str, data: dict | None = None, **headers):
    """POST with the CSRF token a browser would send along."""
    token = csrf_token(client)
    return client.post(url, {"csrfmiddlewaretoken": token, **(data or {})}, **headers)
