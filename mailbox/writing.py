"""Writing from the inbox: replies, letters to an authority's contact point, and drafts.

Citizens and companies write only to authorities. What they write becomes MeMo, built with
the memo library like any sender system's letter, and then follows the same path as API mail
(mailbox/sending.py): routed to one recipient system (routing rules, the contact point's
system, else the authority's default), stored with its outbox row and event in one
transaction, delivered by the engine after commit, by pull or push. The writer's copy sits in
their Sent folder.

Services here never see a request: views hand them the :class:`~mailbox.access.MailboxContext`
(who writes, in which mailbox, with what right) and plain values. A refusal raises
:class:`WriteRefused` with messages per form field, and changes nothing.
"""

from __future__ import annotations

import io
import mimetypes
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from adminaccess.models import System
from contactstructure.models import CITIZEN_MAX_ATTACHMENTS, CITIZEN_MAX_BYTES, ContactPoint
from contactstructure.selectors import contact_point_for_writing
from digitalpost.queueing import enqueue_after_commit
from mailbox.access import MailboxContext
from mailbox.models import Draft, DraftAttachment, Folder, MailboxItem, Message
from mailbox.sending import NotAllowed, Route, _default_recipient_system, _to_authority, accepted_outbox_rows
from mailbox.services import message_store
from memo import model as m
from memo import parse as memo_parse
from memo import serialize, validate
from memo.errors import MemoParseError
from memo.rules import ALLOWED_MIME_TYPES, FORBIDDEN_FILENAME_CHARS, MAX_ATTACHMENTS
from rights.models import Organisation

#: MeMo's ShortText: titles, contact-info values and labels.
MAX_TITLE = 256
#: Name of the main document's file: the letter's text.
TEXT_FILENAME = "besked.txt"


class WriteRefused(Exception):
    """Nothing was sent or saved. ``errors`` maps form fields (``None``: the whole form) to
    messages the writer can act on."""

    def __init__(self, errors: dict[str | None, list[str]]) -> None:
        super().__init__("; ".join(msg for msgs in errors.values() for msg in msgs))
        self.errors = errors


@dataclass(frozen=True)
class Upload:
    """A file the writer attached. Its bytes are read only once the limits allow it, so an
    oversized upload is refused without being read into memory."""

    filename: str
    size: int
    file: IO[bytes]
    # What the browser claimed; used only when the file name says nothing.
    content_type: str = ""

    @classmethod
    def of(cls, filename: str, data: bytes, content_type: str = "") -> Upload:
        return cls(filename, len(data), io.BytesIO(data), content_type)

    def read(self) -> bytes:
        self.file.seek(0)
        return self.file.read()


@dataclass(frozen=True)
class Limits:
    max_bytes: int
    max_attachments: int


def reply_limits() -> Limits:
    return Limits(CITIZEN_MAX_BYTES, CITIZEN_MAX_ATTACHMENTS)


def contact_point_limits(point: ContactPoint) -> Limits:
    # A contact point may lower the citizen limits, never raise them (a check constraint too).
    return Limits(
        min(point.max_size_bytes, CITIZEN_MAX_BYTES), min(point.max_attachments, CITIZEN_MAX_ATTACHMENTS)
    )


@dataclass(frozen=True)
class Attachment:
    """An attachment ready to go into MeMo: an upload, or one kept with a draft."""

    filename: str
    mime_type: str
    data: bytes


@dataclass(frozen=True)
class SendResult:
    message: Message
    # The writer's copy in their Sent folder.
    sent_item: MailboxItem
    # False when this letter (same messageUUID) had been sent already: a double click.
    created: bool


# --- Checking what was written -----------------------------------------------------------


def _clean_filename(name: str) -> str:
    name = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1]).strip()
    name = "".join("_" if c in FORBIDDEN_FILENAME_CHARS or not c.isprintable() else c for c in name)
    return name[:200] or "bilag"


def _one_line(value: str) -> str:
    """A title or field value as one line of text XML can carry: line breaks and tabs become
    spaces, other control characters (which XML 1.0 cannot hold at all) are dropped."""
    value = value.replace("\r\n", " ").replace("\r", " ").replace("\n", " ").replace("\t", " ")
    return "".join(
        c for c in value if unicodedata.category(c) not in ("Cc", "Cs") and c not in "\ufffe\uffff"
    ).strip()


def _mime_type(filename: str, claimed: str) -> str:
    guessed, _encoding = mimetypes.guess_type(filename, strict=False)
    return (guessed or claimed.split(";")[0].strip() or "application/octet-stream").lower()


def _attachments_check(
    uploads: list[Upload], text: str, limits: Limits, *, kept_count: int = 0, kept_bytes: int = 0
) -> tuple[list[Attachment], list[str]]:
    """The uploads as attachments, and what is wrong: type, count and total size, counting
    ``kept_count`` files of ``kept_bytes`` already attached (to a draft)."""
    checked, errors = [], []
    for upload in uploads:
        filename = _clean_filename(upload.filename)
        mime_type = _mime_type(filename, upload.content_type)
        if not upload.size:
            errors.append(_("The file %(name)s is empty.") % {"name": filename})
        elif mime_type not in ALLOWED_MIME_TYPES:
            errors.append(
                _("%(name)s cannot be sent: send PDF, images, text or office documents.") % {"name": filename}
            )
        else:
            checked.append((filename, mime_type, upload))
    allowed = min(limits.max_attachments, MAX_ATTACHMENTS)
    count = kept_count + len(checked)
    if count > allowed:
        errors.append(
            _("You can attach at most %(max)d files; you attached %(count)d.")
            % {"max": allowed, "count": count}
        )
    total = len(text.encode()) + kept_bytes + sum(upload.size for *_, upload in checked)
    if total > limits.max_bytes:
        errors.append(
            _("The message and its attachments may be at most %(max)s; yours are %(size)s.")
            % {"max": _megabytes(limits.max_bytes), "size": _megabytes(total)}
        )
    if errors:
        return [], errors
    return [Attachment(filename, mime_type, upload.read()) for filename, mime_type, upload in checked], []


def _megabytes(size: int) -> str:
    return f"{size / (1024 * 1024):.1f} MB"


def _text_check(errors: dict, *, title: str | None, text: str) -> None:
    if title is not None:
        if not title.strip():
            errors.setdefault("title", []).append(_("Write a title."))
        elif len(title) > MAX_TITLE:
            errors.setdefault("title", []).append(_("The title may be at most 256 characters."))
    if not text.strip():
        errors.setdefault("text", []).append(_("Write your message."))


def _fields_check(errors: dict, point: ContactPoint, values: dict[str, str]) -> None:
    for name in ("field1", "field2"):
        label = getattr(point, f"{name}_label")
        value = values.get(name, "").strip()
        if not label:
            continue
        if getattr(point, f"{name}_required") and not value:
            errors.setdefault(name, []).append(_("Fill in %(label)s.") % {"label": label})
        elif len(value) > MAX_TITLE:
            errors.setdefault(name, []).append(
                _("%(label)s may be at most 256 characters.") % {"label": label}
            )


def _context_check(context: MailboxContext) -> None:
    if not context.can_write:
        # The views refuse with 403 first; this is the service's own guard.
        raise PermissionError("Read access does not allow writing in this mailbox.")


# --- Building the MeMo -------------------------------------------------------------------


def _sender(context: MailboxContext) -> m.Sender:
    mailbox = context.mailbox
    owner = mailbox.owner
    sender = m.Sender(
        sender_id=mailbox.owner_identifier, id_type=mailbox.owner_id_type, label=owner.name[:256]
    )
    if context.is_representative:
        actor = context.actor
        sender.representative = m.Representative(
            representative_id=actor.cpr, id_type="CPR", label=actor.name[:256]
        )
    return sender


def _sender_fields(context: MailboxContext) -> dict:
    mailbox = context.mailbox
    return {
        "sender_person": mailbox.owner_person,
        "sender_organisation": mailbox.owner_organisation,
        "sender_system": None,
        "sent_by_representative": context.actor if context.is_representative else None,
    }


def _memo(
    *,
    message_uuid: uuid.UUID,
    title: str,
    text: str,
    attachments: list[Attachment],
    sender: m.Sender,
    recipient: m.Recipient,
    content_data: m.ContentData | None = None,
    reply_data: list[m.ReplyData] = (),
) -> m.Message:
    main = m.File.from_bytes(text.encode(), filename=TEXT_FILENAME, encoding_format="text/plain")
    return m.Message(
        memo_version=m.MEMO_1_2,
        header=m.MessageHeader(
            message_type=m.MessageType.DIGITALPOST,
            message_uuid=message_uuid,
            label=title,
            sender=sender,
            recipient=recipient,
            content_data=content_data,
            reply_data=list(reply_data),
        ),
        body=m.MessageBody(
            created_datetime=datetime.now(UTC).replace(microsecond=0),
            main_document=m.MainDocument(label=title, files=[main]),
            additional_documents=[
                m.AdditionalDocument(
                    label=a.filename,
                    files=[m.File.from_bytes(a.data, filename=a.filename, encoding_format=a.mime_type)],
                )
                for a in attachments
            ],
        ),
    )


def _serialize_valid(memo: m.Message, limits: Limits) -> bytes:
    data = serialize(memo)
    report = validate(data, max_content_bytes=limits.max_bytes)
    if not report.ok:
        # What the writer typed was checked above; anything left is a bug, not their fault.
        raise ValueError("The hub built an invalid MeMo: " + "; ".join(str(e) for e in report.errors))
    return data


# --- Storing and routing (the shared path) -----------------------------------------------


def _already_sent(context: MailboxContext, message_uuid: uuid.UUID) -> SendResult | None:
    mailbox = context.mailbox
    own = (
        {"sender_person": mailbox.owner_person}
        if mailbox.owner_person_id
        else {"sender_organisation": mailbox.owner_organisation}
    )
    message = Message.objects.filter(message_uuid=message_uuid, **own).first()
    if message is None:
        return None
    item = MailboxItem.objects.filter(mailbox=mailbox, message=message).first()
    if item is None:  # the UUID belongs to something else of this sender's: never reuse it
        raise WriteRefused({None: [_("This message was already sent. Start a new one.")]})
    return SendResult(message, item, created=False)


def sent_already(*, context: MailboxContext, message_uuid: uuid.UUID) -> SendResult | None:
    """The letter this context already sent with ``message_uuid``, if any (a double click on
    a draft's Send: the first click sent it and deleted the draft)."""
    try:
        return _already_sent(context, message_uuid)
    except WriteRefused:
        return None


def _store_and_queue(
    *,
    context: MailboxContext,
    memo: m.Message,
    data: bytes,
    route: Route,
    reply_to: Message | None = None,
    draft: Draft | None = None,
) -> SendResult:
    """Store as the API stores (message, documents, outbox row, event), plus the Sent copy;
    queue delivery after commit. A second send of the same messageUUID changes nothing."""
    now = timezone.now()
    try:
        with transaction.atomic():
            message = message_store(
                memo=memo,
                memo_bytes=data,
                channel=route.channel,
                state=Message.State.ACCEPTED,
                recipient_mailbox=route.recipient_mailbox,
                recipient_organisation=route.recipient_organisation,
                recipient_system=route.recipient_system,
                contact_point=route.contact_point,
                reply_to=reply_to,
                **_sender_fields(context),
            )
            delivery, event = accepted_outbox_rows(
                message=message,
                route=route,
                held=False,
                now=now,
                organisation=context.mailbox.owner_organisation,
                mailbox=context.mailbox,
                actor_person=context.actor,
            )
            delivery.save(force_insert=True)
            event.save(force_insert=True)
            sent = Folder.objects.get(mailbox=context.mailbox, kind=Folder.Kind.SENT)
            item = MailboxItem.objects.create(
                mailbox=context.mailbox,
                message=message,
                folder=sent,
                received_at=now,
                read_at=now,
            )
            if draft is not None:
                _draft_remove(draft)
    except IntegrityError:
        # Two submits of one form raced; the unique (sender, messageUUID) decided.
        existing = _already_sent(context, memo.header.message_uuid)
        if existing is None:
            raise
        return existing
    from mailbox.tasks import deliver

    enqueue_after_commit(deliver, delivery.pk)
    return SendResult(message, item, created=True)


def authority_reachable(*, organisation: Organisation, point: ContactPoint | None = None) -> bool:
    """Whether some active recipient system could take a letter to ``organisation`` (through
    ``point``): shown as a warning before anyone writes. Sending decides for real."""
    if _default_recipient_system(organisation) is not None:
        return True
    if point is None:
        return False
    if point.recipient_system is not None and point.recipient_system.is_active:
        return True
    return point.routing_rules.filter(recipient_system__status=System.Status.ACTIVE).exists()


def _route_or_refuse(organisation: Organisation, memo: m.Message) -> Route:
    route = _to_authority(organisation, memo.header.recipient, memo.header)
    if isinstance(route, NotAllowed):
        if route.code == "NO_RECIPIENT_SYSTEM":
            raise WriteRefused(
                {
                    None: [
                        _(
                            "%(name)s cannot receive messages right now: it has no active recipient "
                            "system. Nothing was sent; try again later or contact them another way."
                        )
                        % {"name": organisation.name}
                    ]
                }
            )
        raise WriteRefused({None: [_("%(name)s cannot receive this message.") % {"name": organisation.name}]})
    return route


# --- Replies -----------------------------------------------------------------------------


def reply_check(*, context: MailboxContext, item: MailboxItem) -> None:
    """Refuse (WriteRefused) a reply the original does not allow, before any form is shown."""
    _context_check(context)
    message = item.message
    if not message.reply_allowed:
        raise WriteRefused({None: [_("The sender does not accept replies to this message.")]})
    if message.reply_by is not None and message.reply_by < timezone.now():
        raise WriteRefused({None: [_("The deadline for replying to this message has passed.")]})
    organisation = message.sender_organisation
    if organisation is None or not organisation.is_authority or message.sender_person_id:
        raise WriteRefused({None: [_("You can only write to public authorities.")]})


def _original_memo(message: Message) -> m.Message | None:
    try:
        with message.memo_file.open("rb") as stored:
            return memo_parse(stored.read())
    except (OSError, MemoParseError, ValueError):
        return None


def _reply_contact_point(message: Message, original: m.Message | None) -> ContactPoint | None:
    """Where the authority wants replies: the contact point the letter came through, or the
    one its MeMo names as the sender's; only while it is active."""
    organisation = message.sender_organisation
    points = ContactPoint.objects.filter(organisation=organisation, is_active=True)
    if message.contact_point_id is not None:
        return points.filter(pk=message.contact_point_id).first()
    sender_point = original.header.sender.contact_point if original and original.header else None
    if sender_point is not None and sender_point.contact_point_id:
        return points.filter(contact_point_id=sender_point.contact_point_id).first()
    return None


def _reply_data(
    message: Message, original: m.Message | None, point: ContactPoint | None
) -> list[m.ReplyData]:
    """The original first, then the conversation it was itself part of."""
    header = original.header if original else None
    content = header.content_data if header else None
    attention = header.sender.attention_data if header and header.sender else None
    direct = m.ReplyData(
        message_id=message.message_id or None,
        message_uuid=message.message_uuid,
        sender_id=message.sender_id,
        recipient_id=message.recipient_id,
        case_id=content.case_id.case_id if content and content.case_id else None,
        contact_point_id=point.contact_point_id if point else None,
        generating_system_id=(
            attention.generating_system.generating_system_id
            if attention and attention.generating_system
            else None
        ),
    )
    earlier = [r for r in (header.reply_data if header else []) if r.message_uuid != message.message_uuid]
    return [direct, *earlier]


def reply_reachable(*, message: Message) -> bool:
    """:func:`authority_reachable` for a reply to ``message``."""
    point = _reply_contact_point(message, _original_memo(message))
    return authority_reachable(organisation=message.sender_organisation, point=point)


def reply_send(
    *,
    context: MailboxContext,
    item: MailboxItem,
    text: str,
    uploads: list[Upload] = (),
    message_uuid: uuid.UUID,
    draft: Draft | None = None,
    remove_attachment_ids: list[int] = (),
) -> SendResult:
    """Reply to the message in ``item`` (a MailboxItem of ``context.mailbox``)."""
    reply_check(context=context, item=item)
    already = _already_sent(context, message_uuid)
    if already is not None:
        return already
    message = item.message
    limits = reply_limits()
    errors: dict[str | None, list[str]] = {}
    _text_check(errors, title=None, text=text)
    kept = _draft_attachments(draft, remove=list(remove_attachment_ids))
    new, attachment_errors = _attachments_check(
        list(uploads), text, limits, kept_count=len(kept), kept_bytes=sum(len(a.data) for a in kept)
    )
    if attachment_errors:
        errors["attachments"] = attachment_errors
    if errors:
        raise WriteRefused(errors)
    attachments = kept + new
    organisation = message.sender_organisation
    original = _original_memo(message)
    point = _reply_contact_point(message, original)
    recipient = m.Recipient(
        recipient_id=organisation.cvr,
        id_type="CVR",
        label=(message.sender_label or organisation.name)[:256],
        contact_point=m.ContactPoint(contact_point_id=point.contact_point_id, label=point.label[:256])
        if point
        else None,
    )
    title = (_("Re: %(label)s") % {"label": message.label})[:MAX_TITLE]
    memo = _memo(
        message_uuid=message_uuid,
        title=title,
        text=text,
        attachments=attachments,
        sender=_sender(context),
        recipient=recipient,
        content_data=original.header.content_data if original and original.header else None,
        reply_data=_reply_data(message, original, point),
    )
    route = _route_or_refuse(organisation, memo)
    data = _serialize_valid(memo, limits)
    return _store_and_queue(context=context, memo=memo, data=data, route=route, reply_to=message, draft=draft)


# --- Writing to a contact point ----------------------------------------------------------


def contact_point_check(*, context: MailboxContext, point: ContactPoint | None) -> ContactPoint:
    """The contact point, if this writer may write to it now (active, visible, an authority's)."""
    _context_check(context)
    if point is not None:
        point = contact_point_for_writing(key=point.deep_link_key)
    if point is None:
        raise WriteRefused({None: [_("This contact point does not take messages.")]})
    if not point.organisation.is_authority:
        # Never reached through the selector; stated here because it is a rule, not a filter.
        raise WriteRefused({None: [_("Companies cannot write to companies.")]})
    return point


def _content_data(point: ContactPoint) -> m.ContentData | None:
    # The contact point's first KLE code says what the letter is about, so routing rules on
    # KLE can send it on, exactly as they would a sender system's letter.
    if not point.kle_codes:
        return None
    return m.ContentData(
        kle_data=m.KLEData(subject_key=point.kle_codes[0], version="1", label=point.label[:256])
    )


def authority_message_send(
    *,
    context: MailboxContext,
    point: ContactPoint,
    title: str,
    text: str,
    field1: str = "",
    field2: str = "",
    uploads: list[Upload] = (),
    message_uuid: uuid.UUID,
    draft: Draft | None = None,
    remove_attachment_ids: list[int] = (),
) -> SendResult:
    """Write a new letter to a contact point of an authority."""
    point = contact_point_check(context=context, point=point)
    already = _already_sent(context, message_uuid)
    if already is not None:
        return already
    limits = contact_point_limits(point)
    title, field1, field2 = _one_line(title), _one_line(field1), _one_line(field2)
    errors: dict[str | None, list[str]] = {}
    _text_check(errors, title=title, text=text)
    _fields_check(errors, point, {"field1": field1, "field2": field2})
    kept = _draft_attachments(draft, remove=list(remove_attachment_ids))
    new, attachment_errors = _attachments_check(
        list(uploads), text, limits, kept_count=len(kept), kept_bytes=sum(len(a.data) for a in kept)
    )
    if attachment_errors:
        errors["attachments"] = attachment_errors
    if errors:
        raise WriteRefused(errors)
    attachments = kept + new
    # The free-text fields travel as the contact point's ContactInfo: MeMo's place for them.
    info = [
        m.ContactInfo(label=getattr(point, f"{name}_label")[:256], value=value)
        for name, value in (("field1", field1), ("field2", field2))
        if getattr(point, f"{name}_label") and value
    ]
    organisation = point.organisation
    recipient = m.Recipient(
        recipient_id=organisation.cvr,
        id_type="CVR",
        label=organisation.name[:256],
        contact_point=m.ContactPoint(
            contact_point_id=point.contact_point_id, label=point.label[:256], contact_info=info
        ),
    )
    memo = _memo(
        message_uuid=message_uuid,
        title=title,
        text=text,
        attachments=attachments,
        sender=_sender(context),
        recipient=recipient,
        content_data=_content_data(point),
    )
    route = _route_or_refuse(organisation, memo)
    data = _serialize_valid(memo, limits)
    return _store_and_queue(context=context, memo=memo, data=data, route=route, draft=draft)


# --- Drafts ------------------------------------------------------------------------------


def drafts_of(context: MailboxContext) -> QuerySet[Draft]:
    """The drafts this person wrote in this mailbox, newest first (``draft_list_idx``)."""
    return (
        Draft.objects.filter(mailbox=context.mailbox, author=context.actor)
        .select_related("contact_point__organisation", "reply_to")
        .order_by("-updated_at", "-pk")
    )


def draft_get(*, context: MailboxContext, draft_id: int) -> Draft | None:
    """One of this person's drafts in this mailbox; anybody else's is None (a 404)."""
    return drafts_of(context).filter(pk=draft_id).prefetch_related("attachments").first()


def _draft_attachments(draft: Draft | None, remove: list[int] = ()) -> list[Attachment]:
    if draft is None:
        return []
    kept = []
    for attachment in draft.attachments.all():
        if attachment.pk in remove:
            continue
        with attachment.content.open("rb") as stored:
            kept.append(Attachment(attachment.filename, attachment.mime_type, stored.read()))
    return kept


def draft_save(
    *,
    context: MailboxContext,
    draft: Draft | None = None,
    point: ContactPoint | None = None,
    reply_to_item: MailboxItem | None = None,
    title: str = "",
    text: str = "",
    field1: str = "",
    field2: str = "",
    uploads: list[Upload] = (),
    remove_attachment_ids: list[int] = (),
) -> Draft:
    """Save what is written so far. A draft need not be complete, but its attachments must
    fit the limits it will be sent under, so nothing is kept that could never be sent."""
    _context_check(context)
    if draft is not None:
        if draft.mailbox_id != context.mailbox.pk or draft.author_id != context.actor.pk:
            raise PermissionError("Not this person's draft.")
        point, reply_to = draft.contact_point, draft.reply_to
    else:
        if (point is None) == (reply_to_item is None):
            raise ValueError("A draft is to a contact point or a reply to a message.")
        reply_to = reply_to_item.message if reply_to_item is not None else None
        if reply_to_item is not None and reply_to_item.mailbox_id != context.mailbox.pk:
            raise PermissionError("Not a message in this mailbox.")
    if point is not None:
        point = contact_point_check(context=context, point=point)
    limits = contact_point_limits(point) if point is not None else reply_limits()
    errors: dict[str | None, list[str]] = {}
    if len(title) > MAX_TITLE:
        errors["title"] = [_("The title may be at most 256 characters.")]
    remove = set(remove_attachment_ids)
    kept_rows = [a for a in (draft.attachments.all() if draft is not None else []) if a.pk not in remove]
    new, attachment_errors = _attachments_check(
        list(uploads), text, limits, kept_count=len(kept_rows), kept_bytes=sum(r.size for r in kept_rows)
    )
    if attachment_errors:
        errors["attachments"] = attachment_errors
    if errors:
        raise WriteRefused(errors)
    now = timezone.now()
    written = {
        "label": _one_line(title),
        "text": text,
        "field1": _one_line(field1),
        "field2": _one_line(field2),
    }
    with transaction.atomic():
        if draft is None:
            draft = Draft.objects.create(
                mailbox=context.mailbox,
                author=context.actor,
                contact_point=point,
                reply_to=reply_to,
                created_at=now,
                updated_at=now,
                **written,
            )
        else:
            for name, value in written.items():
                setattr(draft, name, value)
            draft.updated_at = now
            draft.save(update_fields=[*written, "updated_at"])
        removed = list(draft.attachments.filter(pk__in=remove))
        DraftAttachment.objects.filter(pk__in=[r.pk for r in removed]).delete()
        _files_delete_on_commit([r.content.name for r in removed])
        position = max([r.position for r in kept_rows], default=-1) + 1
        for attachment in new:
            row = DraftAttachment(
                draft=draft,
                position=position,
                filename=attachment.filename,
                mime_type=attachment.mime_type,
                size=len(attachment.data),
            )
            row.content.save(f"{draft.message_uuid}-{position}", ContentFile(attachment.data), save=False)
            row.save(force_insert=True)
            position += 1
    return draft


def _files_delete_on_commit(names: list[str]) -> None:
    from django.core.files.storage import default_storage

    def delete() -> None:
        for name in names:
            default_storage.delete(name)

    if names:
        transaction.on_commit(delete)


def _draft_remove(draft: Draft) -> None:
    names = [a.content.name for a in draft.attachments.all()]
    draft.delete()
    _files_delete_on_commit(names)


def draft_delete(*, context: MailboxContext, draft: Draft) -> None:
    """Delete one of this person's drafts and its files."""
    if draft.mailbox_id != context.mailbox.pk or draft.author_id != context.actor.pk:
        raise PermissionError("Not this person's draft.")
    with transaction.atomic():
        _draft_remove(draft)
