"""Writes for mailboxes and the messages in them."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, date

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from adminaccess.models import Event
from adminaccess.services import event_log_write
from mailbox.models import (
    Action,
    Document,
    DocumentFile,
    Exemption,
    Folder,
    Mailbox,
    MailboxItem,
    Message,
)
from mailbox.storage import save as storage_save
from memo import NOT_READ
from memo import model as memo_model
from memo import parse as memo_parse
from memo.rules import base64_decoded_size
from rights.models import Organisation, User

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


def _aware(value):
    if value is not None and timezone.is_naive(value):
        return value.replace(tzinfo=UTC)
    return value


@dataclass
class StoreEntry:
    """One parsed MeMo to store, with where it comes from and where it goes (Message fields)."""

    memo: memo_model.Message
    memo_bytes: bytes
    fields: dict


def message_store(*, memo: memo_model.Message, memo_bytes: bytes, **fields) -> Message:
    """Persist a parsed MeMo: the message row, the stored MeMo, its documents, files and actions.

    ``fields`` are the Message fields the caller decided (channel, state, sender_organisation,
    recipient_mailbox, ...). The caller has validated and authorised the message and resolved
    its recipient; this only records it, in the caller's transaction.
    """
    return messages_store(entries=[StoreEntry(memo, memo_bytes, fields)])[0]


def messages_store(*, entries: list[StoreEntry]) -> list[Message]:
    """:func:`message_store` for many messages at once: one bulk insert per table.

    Files are named by each message's transmission id, which is unique, so the names are known
    before anything is written and the MeMo files are written only once the rows exist.
    """
    messages = [_message_row(entry) for entry in entries]
    memo_file = Message._meta.get_field("memo_file")
    for message in messages:
        message.memo_file.name = memo_file.generate_filename(message, f"{message.transmission_id}.xml")
    # No savepoint of its own: a caller's transaction decides (sending runs in one).
    with transaction.atomic(savepoint=False):
        Message.objects.bulk_create(messages)
        for message, entry in zip(messages, entries, strict=True):
            stored = storage_save(
                message.memo_file.storage, message.memo_file.name, ContentFile(entry.memo_bytes)
            )
            if stored != message.memo_file.name:
                message.memo_file.name = stored
                Message.objects.filter(pk=message.pk).update(memo_file=stored)
        _store_documents(
            [
                (m, e.memo.body)
                for m, e in zip(messages, entries, strict=True)
                if e.memo.body is not NOT_READ and e.memo.body  # not read: built on delivery
            ]
        )
    return messages


def _message_row(entry: StoreEntry) -> Message:
    return Message(**message_values(entry.memo, entry.memo_bytes), **entry.fields)


def message_values(memo: memo_model.Message, memo_bytes: bytes) -> dict:
    """The Message fields a MeMo decides by itself, by field name (the API's one-statement
    store writes the same values without building a model instance)."""
    header = memo.header
    content = header.content_data
    return {
        "message_uuid": header.message_uuid,
        "memo_version": memo.memo_version,
        "message_type": str(header.message_type),
        "message_id": header.message_id or "",
        "message_code": header.message_code or "",
        "label": header.label,
        "notification": header.notification or "",
        "reply_allowed": bool(header.reply),
        "reply_by": _aware(header.reply_by_datetime),
        "value_date": header.do_not_deliver_until_date,
        "mandatory": bool(header.mandatory),
        "legal_notification": bool(header.legal_notification),
        "post_type": header.post_type or "",
        "sender_id_type": header.sender.id_type,
        "sender_id": header.sender.sender_id,
        "sender_label": header.sender.label or "",
        "recipient_id_type": header.recipient.id_type,
        "recipient_id": header.recipient.recipient_id,
        "recipient_label": header.recipient.label or "",
        "kle_code": content.kle_data.subject_key if content and content.kle_data else "",
        "memo_size": len(memo_bytes),
        "memo_sha256": hashlib.sha256(memo_bytes).hexdigest(),
    }


def document_values(body: memo_model.MessageBody) -> list[tuple[dict, list[dict], list[dict]]]:
    """Per document of a body, in position order: the Document's fields, its files' and its
    actions' (by field name, without the parent)."""
    kinds = [(Document.Kind.MAIN, body.main_document)]
    kinds += [(Document.Kind.ADDITIONAL, d) for d in body.additional_documents]
    kinds += [(Document.Kind.TECHNICAL, d) for d in body.technical_documents]
    out = []
    for position, (kind, source) in enumerate(kinds):
        document = {
            "kind": kind,
            "position": position,
            "document_id": source.document_id or "",
            "label": source.label or (source.files[0].filename if source.files else ""),
        }
        files = []
        for file_position, source_file in enumerate(source.files):
            size = base64_decoded_size(source_file.content)
            files.append(
                {
                    "position": file_position,
                    "filename": source_file.filename,
                    "mime_type": source_file.encoding_format,
                    "language": source_file.language or "",
                    "size": size if size is not None else len(source_file.data),
                }
            )
        # Technical documents carry no actions.
        actions = [action_values(n, action) for n, action in enumerate(getattr(source, "actions", []))]
        out.append((document, files, actions))
    return out


def _store_documents(bodies: list[tuple[Message, memo_model.MessageBody]]) -> None:
    """Rows for the documents, their files and actions: three bulk inserts for all messages.

    The files' bytes are not written out here: they are inside the stored MeMo already, and
    mail for recipient systems never needs them apart. :func:`document_file_content`
    extracts a file (and keeps it in storage) the first time someone needs it.
    """
    sources = [(message, values) for message, body in bodies for values in document_values(body)]
    documents = Document.objects.bulk_create(
        Document(message=message, **document) for message, (document, _, _) in sources
    )
    files, actions = [], []
    for document, (_, (_, file_rows, action_rows)) in zip(documents, sources, strict=True):
        files += [DocumentFile(document=document, **values) for values in file_rows]
        actions += [Action(document=document, **values) for values in action_rows]
    DocumentFile.objects.bulk_create(files)
    Action.objects.bulk_create(actions)


def message_documents_build(message: Message) -> bool:
    """Store the documents, files and actions of a message taken in without them (see
    ``Message.documents_pending``), read from its stored MeMo; True if this call built them.

    The delivery engine calls this before it delivers, so mail in an inbox, in a print job or
    in a recipient system's queue has its rows. Safe to call twice and from two workers at
    once: a conditional UPDATE claims the work, and its row lock holds until the rows are
    in, so one caller builds them and the other finds nothing to do.
    """
    if not message.documents_pending:
        return False
    with transaction.atomic():
        claimed = Message.objects.filter(pk=message.pk, documents_pending=True).update(
            documents_pending=False
        )
        message.documents_pending = False
        if not claimed:
            return False
        with message.memo_file.open("rb") as stored:
            memo = memo_parse(stored.read())  # validated when it was accepted
        if memo.body:
            _store_documents([(message, memo.body)])
    return True


def document_file_content(file: DocumentFile) -> bytes:
    """A document file's bytes: from storage, or extracted from the stored MeMo (and kept)."""
    if file.content:
        with file.content.open("rb") as stored:
            return stored.read()
    document = file.document
    with document.message.memo_file.open("rb") as stored_memo:
        memo = memo_parse(stored_memo.read())
    source = list(memo.body.documents())[document.position].files[file.position]
    data = source.data
    file.sha256 = hashlib.sha256(data).hexdigest()
    file.content.save(f"{file.pk}-{file.filename}", ContentFile(data), save=False)
    DocumentFile.objects.filter(pk=file.pk).update(content=file.content.name, sha256=file.sha256)
    return data


def action_values(position: int, action: memo_model.Action) -> dict:
    """An Action's fields for a MeMo action, by field name (without its document)."""
    reservation = None
    if action.reservation is not None:
        r = action.reservation
        reservation = {
            "description": r.description,
            "uuid": str(r.reservation_uuid),
            "abstract": r.abstract,
            "location": r.location,
            "start": _aware(r.start_datetime).isoformat(),
            "end": _aware(r.end_datetime).isoformat(),
            "organizer_mail": r.organizer_mail or "",
            "organizer_name": r.organizer_name or "",
        }
    return {
        "position": position,
        "label": action.label,
        "action_code": action.action_code,
        "start_at": _aware(action.start_datetime),
        "end_at": _aware(action.end_datetime),
        "url": action.entry_point.url if action.entry_point else "",
        "reservation": reservation,
    }


def message_deliver_to_mailbox(*, message: Message, at=None) -> MailboxItem:
    """Put a message in its recipient's inbox. Delivering twice leaves one item."""
    at = at or timezone.now()
    inbox = Folder.objects.get(mailbox=message.recipient_mailbox, kind=Folder.Kind.INBOX)
    with transaction.atomic():
        item, _ = MailboxItem.objects.get_or_create(
            mailbox=message.recipient_mailbox, message=message, defaults={"folder": inbox, "received_at": at}
        )
        Message.objects.filter(pk=message.pk).exclude(state=Message.State.DELIVERED).update(
            state=Message.State.DELIVERED, delivered_at=at
        )
    return item


@transaction.atomic
def exemption_create(
    *,
    mailbox: Mailbox,
    reason: str,
    valid_from: date | None = None,
    valid_until: date | None = None,
    print_address: str | None = None,
    created_by: User | None = None,
    organisation: Organisation | None = None,
) -> Exemption:
    """Exempt a mailbox's owner from Digital Post: from now on their letters go to remote print.

    ``print_address`` defaults to the owner's postal address (people have one, organisations
    do not). An exemption is open until it is ended, so one that ended in the past would
    block every later exemption; such periods are refused. ``organisation`` is the one the
    staff member acts for (citizen service), recorded in the event log.
    """
    reason = reason.strip()
    today = timezone.localdate()
    valid_from = valid_from or today
    if not reason:
        raise ValidationError({"reason": "An exemption needs a reason."})
    if len(reason) > Exemption._meta.get_field("reason").max_length:
        raise ValidationError({"reason": "A reason is at most 200 characters."})
    if valid_until is not None and valid_until < valid_from:
        raise ValidationError({"valid_until": "An exemption cannot end before it starts."})
    if valid_until is not None and valid_until < today:
        raise ValidationError({"valid_until": "An exemption cannot end in the past."})
    if print_address is None:
        print_address = mailbox.owner_person.address if mailbox.owner_person_id else ""
    # Lock the mailbox so two exemptions cannot both pass the check below; the partial unique
    # index exemption_one_open_per_mailbox is the backstop.
    Mailbox.objects.select_for_update().filter(pk=mailbox.pk).first()
    if Exemption.objects.filter(mailbox=mailbox, ended_at__isnull=True).exists():
        raise ValidationError(
            {"mailbox": f"{mailbox.owner_id_type} {mailbox.owner_identifier} is already exempt."},
            code="exists",
        )
    exemption = Exemption.objects.create(
        mailbox=mailbox,
        reason=reason,
        valid_from=valid_from,
        valid_until=valid_until,
        print_address=print_address,
        created_by=created_by,
    )
    event_log_write(
        tag=Event.Tag.DIGITAL_POST_EXEMPTED,
        mailbox=mailbox,
        organisation=organisation,
        subject=mailbox.owner_identifier,
        actor_user=created_by,
        details={
            "reason": reason,
            "validFrom": valid_from.isoformat(),
            "validUntil": valid_until.isoformat() if valid_until else None,
        },
    )
    return exemption


@transaction.atomic
def exemption_end(
    *, mailbox: Mailbox, ended_by: User | None = None, organisation: Organisation | None = None
) -> Exemption:
    """End the mailbox's open exemption now: digital mail reaches the owner again."""
    exemption = Exemption.objects.select_for_update().filter(mailbox=mailbox, ended_at__isnull=True).first()
    if exemption is None:
        raise ValidationError(
            {"mailbox": f"{mailbox.owner_id_type} {mailbox.owner_identifier} is not exempt."},
            code="not-exempt",
        )
    exemption.ended_at, exemption.ended_by = timezone.now(), ended_by
    exemption.save(update_fields=["ended_at", "ended_by"])
    event_log_write(
        tag=Event.Tag.DIGITAL_POST_EXEMPTION_ENDED,
        mailbox=mailbox,
        organisation=organisation,
        subject=mailbox.owner_identifier,
        actor_user=ended_by,
    )
    return exemption
