"""Writes in the inbox: reading, flags, folders, the bin. Reads live in mailbox/selectors.py.

Each service takes the :class:`~mailbox.access.MailboxContext` the request acts in and the
objects the view looked up within it. Changing anything needs ``context.can_write``: read-only
access (fuldmagt) is refused with PermissionDenied before anything is written. Every read by a
representative is logged (``MAILBOX_READ_BY_PARTY_REPRESENTATIVE``) for the owner to see.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from adminaccess.models import Event
from adminaccess.services import event_log_write
from mailbox.access import MailboxContext
from mailbox.models import Action, Folder, MailboxItem, Message

#: Own folders a mailbox may have; enough for anyone, and it keeps the menu usable.
MAX_OWN_FOLDERS = 100
#: Kinds an item may be moved into (the bin is reached by deleting, Sent and Drafts are kept).
MOVE_TARGETS = (Folder.Kind.INBOX, Folder.Kind.CUSTOM)


def _require_write(context: MailboxContext) -> None:
    if not context.can_write:
        raise PermissionDenied("Read access does not allow changes in this mailbox.")


def _require_own(context: MailboxContext, *objects) -> None:
    # Views look objects up within the context already; this keeps a service from ever
    # being handed another mailbox's row by a caller that forgot.
    for obj in objects:
        if obj.mailbox_id != context.mailbox.pk:
            raise PermissionDenied("That is not in this mailbox.")


# --- Reading ---------------------------------------------------------------------------------


def mailbox_read_log(
    *, context: MailboxContext, message: Message | None = None, details: dict | None = None
) -> None:
    """Log a read by a representative (fuldmagt or employee); the owner's own reads are not."""
    if not context.is_representative:
        return
    event_log_write(
        tag=Event.Tag.MAILBOX_READ_BY_PARTY_REPRESENTATIVE,
        mailbox=context.mailbox,
        actor_person=context.actor,
        message=message,
        organisation=message.sender_organisation if message is not None else None,
        subject=context.mailbox.owner_identifier,
        details={"level": context.level, **(details or {})},
    )


@transaction.atomic
def mailbox_item_open(*, context: MailboxContext, item: MailboxItem) -> MailboxItem:
    """Someone opened a letter: mark it read, record a legal notification's first reading.

    Both are conditional UPDATEs, so two tabs opening the letter at once record it once. Any
    reader counts, a representative too: it is the mailbox's read state, as the owner sees it.
    """
    _require_own(context, item)
    now = timezone.now()
    message = item.message
    if item.read_at is None:
        MailboxItem.objects.filter(pk=item.pk, read_at__isnull=True).update(read_at=now)
        item.read_at = now
    if message.legal_notification and item.legal_notification_read_at is None:
        first = MailboxItem.objects.filter(pk=item.pk, legal_notification_read_at__isnull=True).update(
            legal_notification_read_at=now
        )
        if first:
            item.legal_notification_read_at = now
            event_log_write(
                tag=Event.Tag.LEGAL_NOTIFICATION_READ,
                organisation=message.sender_organisation,
                mailbox=context.mailbox,
                message=message,
                actor_person=context.actor,
                subject=context.mailbox.owner_identifier,
                details={"readAt": now.isoformat(), "readBy": context.level},
            )
    mailbox_read_log(context=context, message=message, details={"read": "message"})
    return item


def mailbox_item_mark_unread(*, context: MailboxContext, item: MailboxItem) -> MailboxItem:
    """Show a letter as new again. A legal notification keeps the time it was first read."""
    _require_write(context)
    _require_own(context, item)
    MailboxItem.objects.filter(pk=item.pk).update(read_at=None)
    item.read_at = None
    return item


def mailbox_item_flag(*, context: MailboxContext, item: MailboxItem, flagged: bool) -> MailboxItem:
    """Flag or unflag a letter."""
    _require_write(context)
    _require_own(context, item)
    MailboxItem.objects.filter(pk=item.pk).update(flagged=flagged)
    item.flagged = flagged
    return item


# --- Moving and the bin ----------------------------------------------------------------------


def mailbox_item_move(*, context: MailboxContext, item: MailboxItem, folder: Folder) -> MailboxItem:
    """Move a letter to the inbox or an own folder of the same mailbox."""
    _require_write(context)
    _require_own(context, item, folder)
    if folder.kind not in MOVE_TARGETS:
        raise ValidationError({"folder": _("Letters can only be moved to the inbox or your own folders.")})
    if item.folder.kind in (Folder.Kind.BIN, Folder.Kind.DRAFTS):
        raise ValidationError({"folder": _("Restore the letter from the bin first.")})
    MailboxItem.objects.filter(pk=item.pk).update(folder=folder)
    item.folder = folder
    return item


def _folder(context: MailboxContext, kind: str) -> Folder:
    return Folder.objects.get(mailbox=context.mailbox, kind=kind)


@transaction.atomic
def mailbox_item_delete(*, context: MailboxContext, item: MailboxItem) -> MailboxItem:
    """Put a letter in the bin; it remembers where it was, for restoring."""
    _require_write(context)
    _require_own(context, item)
    if item.folder.kind == Folder.Kind.BIN:
        return item
    if item.folder.kind == Folder.Kind.DRAFTS:
        raise ValidationError({"item": _("Drafts are deleted from the drafts page.")})
    bin_folder = _folder(context, Folder.Kind.BIN)
    MailboxItem.objects.filter(pk=item.pk).update(folder=bin_folder, previous_folder=item.folder)
    item.previous_folder, item.folder = item.folder, bin_folder
    return item


@transaction.atomic
def mailbox_item_restore(*, context: MailboxContext, item: MailboxItem) -> MailboxItem:
    """Take a letter out of the bin, back where it was (the inbox if that folder is gone)."""
    _require_write(context)
    _require_own(context, item)
    if item.folder.kind != Folder.Kind.BIN:
        raise ValidationError({"item": _("The letter is not in the bin.")})
    target = None
    if item.previous_folder_id:
        target = Folder.objects.filter(pk=item.previous_folder_id, mailbox=context.mailbox).first()
    target = target or _folder(context, Folder.Kind.INBOX)
    MailboxItem.objects.filter(pk=item.pk).update(folder=target, previous_folder=None)
    item.folder, item.previous_folder = target, None
    return item


#: What the listing's selection can do to several letters at once.
SELECTION_ACTIONS = ("read", "unread", "move", "delete", "restore")
#: Letters changed in one go, at most (a page shows 25).
MAX_SELECTED = 500


@transaction.atomic
def mailbox_items_change(
    *, context: MailboxContext, item_ids: list[int], action: str, folder: Folder | None = None
) -> tuple[int, int]:
    """Make one change to several letters of the mailbox at once: the listing's selection.

    The rules are those for one letter: "move" goes to the inbox or an own folder and never
    takes a letter out of the bin or drafts; "delete" puts letters in the bin, remembering
    where each was; "restore" takes letters out of the bin, back where each was; "read" marks
    letters read without opening them (a legal notification's first reading is still recorded
    only when it is opened). Returns (changed, left as they were: the change did not apply).
    Raises ObjectDoesNotExist if any id is not a letter of this mailbox, changing nothing.
    """
    _require_write(context)
    ids = set(item_ids)
    if not ids:
        raise ValidationError({"item": _("Select at least one letter.")})
    if len(ids) > MAX_SELECTED:
        raise ValidationError(
            {"item": _("Select at most %(max)d letters at a time.") % {"max": MAX_SELECTED}}
        )
    if action not in SELECTION_ACTIONS:
        raise ValidationError({"action": _("Choose what to do with the selected letters.")})
    items = MailboxItem.objects.filter(mailbox=context.mailbox, pk__in=ids, deleted_at__isnull=True)
    if items.count() != len(ids):
        raise MailboxItem.DoesNotExist("Not every selected letter is in this mailbox.")
    kept = (Folder.Kind.BIN, Folder.Kind.DRAFTS)
    if action == "read":
        changed = items.filter(read_at__isnull=True).update(read_at=timezone.now())
    elif action == "unread":
        changed = items.filter(read_at__isnull=False).update(read_at=None)
    elif action == "move":
        if folder is None:
            raise ValidationError({"folder": _("Choose a folder to move the letters to.")})
        _require_own(context, folder)
        if folder.kind not in MOVE_TARGETS:
            raise ValidationError(
                {"folder": _("Letters can only be moved to the inbox or your own folders.")}
            )
        changed = items.exclude(folder__kind__in=kept).exclude(folder=folder).update(folder=folder)
    elif action == "delete":
        bin_folder = _folder(context, Folder.Kind.BIN)
        changed = items.exclude(folder__kind__in=kept).update(folder=bin_folder, previous_folder=F("folder"))
    else:
        in_bin = items.filter(folder__kind=Folder.Kind.BIN)
        changed = in_bin.filter(previous_folder__isnull=False).update(
            folder=F("previous_folder"), previous_folder=None
        )
        changed += in_bin.update(folder=_folder(context, Folder.Kind.INBOX), previous_folder=None)
    return changed, len(ids) - changed


def mailbox_bin_empty(*, context: MailboxContext) -> int:
    """Empty the bin: its letters are gone from the mailbox (kept, marked ``deleted_at``)."""
    _require_write(context)
    return MailboxItem.objects.filter(
        mailbox=context.mailbox, folder__kind=Folder.Kind.BIN, deleted_at__isnull=True
    ).update(deleted_at=timezone.now())


# --- Own folders -----------------------------------------------------------------------------


def _clean_name(context: MailboxContext, name: str, *, exclude: Folder | None = None) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise ValidationError({"name": _("Give the folder a name.")})
    if len(name) > Folder._meta.get_field("name").max_length:
        raise ValidationError({"name": _("A folder name is at most 100 characters.")})
    taken = Folder.objects.filter(mailbox=context.mailbox, name__iexact=name)
    if exclude is not None:
        taken = taken.exclude(pk=exclude.pk)
    # The standard folders' names, in either language, are theirs alone.
    reserved = {str(label).lower() for label in Folder.Kind.labels} | {k.lower() for k in Folder.Kind.values}
    if name.lower() in reserved or taken.exists():
        raise ValidationError({"name": _("You already have a folder with that name.")})
    return name


@transaction.atomic
def folder_create(*, context: MailboxContext, name: str) -> Folder:
    """A new own folder in the mailbox."""
    _require_write(context)
    name = _clean_name(context, name)
    if Folder.objects.filter(mailbox=context.mailbox, kind=Folder.Kind.CUSTOM).count() >= MAX_OWN_FOLDERS:
        raise ValidationError({"name": _("You cannot have more than 100 folders.")})
    try:
        with transaction.atomic():
            return Folder.objects.create(mailbox=context.mailbox, kind=Folder.Kind.CUSTOM, name=name)
    except IntegrityError:  # the same name created at the same moment elsewhere
        raise ValidationError({"name": _("You already have a folder with that name.")}) from None


@transaction.atomic
def folder_rename(*, context: MailboxContext, folder: Folder, name: str) -> Folder:
    """Rename an own folder; the standard folders keep their names."""
    _require_write(context)
    _require_own(context, folder)
    if folder.kind != Folder.Kind.CUSTOM:
        raise ValidationError({"name": _("Only your own folders can be renamed.")})
    folder.name = _clean_name(context, name, exclude=folder)
    try:
        with transaction.atomic():
            folder.save(update_fields=["name"])
    except IntegrityError:
        raise ValidationError({"name": _("You already have a folder with that name.")}) from None
    return folder


@transaction.atomic
def folder_delete(*, context: MailboxContext, folder: Folder) -> int:
    """Delete an own folder. Its letters go back to the inbox; returns how many moved."""
    _require_write(context)
    _require_own(context, folder)
    if folder.kind != Folder.Kind.CUSTOM:
        raise ValidationError({"folder": _("Only your own folders can be deleted.")})
    inbox = _folder(context, Folder.Kind.INBOX)
    moved = MailboxItem.objects.filter(mailbox=context.mailbox, folder=folder).update(folder=inbox)
    # Letters in the bin that came from here will be restored to the inbox instead.
    MailboxItem.objects.filter(mailbox=context.mailbox, previous_folder=folder).update(previous_folder=None)
    folder.delete()
    return moved


# --- Calendar ----------------------------------------------------------------------------------


def reservation_ics(action: Action) -> bytes:
    """An appointment (a MeMo reservation on an action) as an iCalendar file."""
    from datetime import datetime

    from icalendar import Calendar, vCalAddress, vText
    from icalendar import Event as CalendarEvent

    reservation = action.reservation or {}
    calendar = Calendar()
    calendar.add("prodid", "-//Digital Post hub//MeMo reservation//EN")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = CalendarEvent()
    event.add("uid", f"{reservation.get('uuid') or action.pk}@digitalpost")
    event.add("dtstamp", timezone.now())
    event.add("dtstart", datetime.fromisoformat(reservation["start"]))
    event.add("dtend", datetime.fromisoformat(reservation["end"]))
    event.add("summary", reservation.get("abstract") or reservation.get("description") or action.label)
    if reservation.get("description"):
        event.add("description", reservation["description"])
    if reservation.get("location"):
        event.add("location", reservation["location"])
    if reservation.get("organizer_mail"):
        organizer = vCalAddress(f"mailto:{reservation['organizer_mail']}")
        if reservation.get("organizer_name"):
            organizer.params["cn"] = vText(reservation["organizer_name"])
        event["organizer"] = organizer
    calendar.add_component(event)
    return calendar.to_ical()
