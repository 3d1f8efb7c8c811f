"""Reads for mailboxes: folders with their unread counts, a folder's listing, one message.

Every read takes the mailbox it reads in, so an id from another mailbox finds nothing (404).
Each read is a fixed number of queries, whatever the size of the mailbox or the page.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.core.cache import cache
from django.core.paginator import Page, Paginator
from django.db import connection
from django.db.models import (
    BigIntegerField,
    Count,
    Exists,
    Func,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import Coalesce, Lower

from mailbox.models import Action, Document, DocumentFile, Folder, Mailbox, MailboxItem
from mailbox.search import items_search

#: Sort keys a listing accepts, and the columns they order by (newest first breaks ties).
SORTS = {
    "received": ("received_at", "pk"),
    "-received": ("-received_at", "-pk"),
    "sender": ("party_key", "-received_at", "-pk"),
    "-sender": ("-party_key", "-received_at", "-pk"),
    "title": ("title_key", "-received_at", "-pk"),
    "-title": ("-title_key", "-received_at", "-pk"),
}
DEFAULT_SORT = "-received"
#: Standard folders first, in the order people expect them; own folders after, by name.
FOLDER_ORDER = {Folder.Kind.INBOX: 0, Folder.Kind.SENT: 1, Folder.Kind.DRAFTS: 2, Folder.Kind.BIN: 3}


def mailbox_items_in_folder(*, mailbox: Mailbox, kind: str = Folder.Kind.INBOX) -> QuerySet[MailboxItem]:
    """The items in one standard folder of a mailbox, newest first."""
    return (
        MailboxItem.objects.filter(mailbox=mailbox, folder__kind=kind, deleted_at__isnull=True)
        .select_related("message")
        .order_by("-received_at")
    )


def folders_with_unread(*, mailbox: Mailbox) -> list[Folder]:
    """The mailbox's folders in menu order, each with ``unread`` (items not yet opened). One query."""
    unread = (
        MailboxItem.objects.filter(
            mailbox=mailbox, folder=OuterRef("pk"), read_at__isnull=True, deleted_at__isnull=True
        )
        .order_by()
        .values("folder")
        .annotate(n=Count("pk"))
        .values("n")
    )
    folders = Folder.objects.filter(mailbox=mailbox).annotate(
        unread=Coalesce(Subquery(unread, output_field=IntegerField()), Value(0))
    )
    return sorted(folders, key=lambda f: (FOLDER_ORDER.get(f.kind, 9), f.name.lower()))


def folder_of_kind(folders: list[Folder], kind: str) -> Folder | None:
    return next((f for f in folders if f.kind == kind), None)


@dataclass(frozen=True)
class Listing:
    """What a folder listing shows: validated at the edge (the view's form) into this."""

    sort: str = DEFAULT_SORT
    unread_only: bool = False
    sender: str = ""
    has_deadline: bool = False
    search: str = ""


def mailbox_items_list(*, mailbox: Mailbox, folder: Folder, listing: Listing) -> QuerySet[MailboxItem]:
    """A folder's items, filtered, searched and sorted. Page through its ids, then read the
    page with :func:`mailbox_items_rows`: a fixed number of queries however big the folder.

    Sorting by sender orders by :attr:`MailboxItem.party`: who the letter is from, or, for the
    mailbox's own sent letters, whom it is to (the index ``mailboxitem_party_idx``); by title,
    by :attr:`MailboxItem.title` (``mailboxitem_title_idx``). Neither reads the messages.
    """
    deadline_actions = Action.objects.filter(document__message=OuterRef("message"), end_at__isnull=False)
    items = MailboxItem.objects.filter(mailbox=mailbox, folder=folder, deleted_at__isnull=True)
    if listing.unread_only:
        items = items.filter(read_at__isnull=True)
    if listing.sender:
        items = items.filter(message__sender_id=listing.sender)
    if listing.has_deadline:
        items = items.filter(Q(message__reply_by__isnull=False) | Exists(deadline_actions))
    if listing.search:
        items = items_search(items, listing.search)
    sort = listing.sort if listing.sort in SORTS else DEFAULT_SORT
    # Only the sort key in use is computed: each costs a function call on every row sorted.
    if sort.lstrip("-") == "sender":
        items = items.annotate(party_key=Lower("party"))
    elif sort.lstrip("-") == "title":
        items = items.annotate(title_key=Lower("title"))
    return items.order_by(*SORTS[sort])


@dataclass(frozen=True)
class FolderSummary:
    """How many items a folder holds, and (PostgreSQL) a fingerprint of which messages they are."""

    count: int
    fingerprint: int | None = None


def folder_summary(*, mailbox: Mailbox, folder: Folder) -> FolderSummary:
    """The folder's item count, and on PostgreSQL a hash sum of its message ids. One query.

    The fingerprint changes whenever a letter arrives in, leaves or is emptied from the folder,
    so what is derived from the folder's set of letters (its senders) can be cached under it.
    """
    items = MailboxItem.objects.filter(mailbox=mailbox, folder=folder, deleted_at__isnull=True)
    if connection.vendor != "postgresql":
        return FolderSummary(count=items.count())
    row = items.aggregate(
        n=Count("pk"),
        h=Sum(Func("message_id", function="hashint8", output_field=BigIntegerField())),
    )
    return FolderSummary(count=row["n"], fingerprint=row["h"] or 0)


def mailbox_items_page(
    *,
    mailbox: Mailbox,
    folder: Folder,
    listing: Listing,
    number,
    per_page: int,
    summary: FolderSummary | None = None,
) -> Page:
    """One page of a listing: its rows (:func:`mailbox_items_rows`) and the pager.

    An unfiltered folder is counted from the folder index (or taken from ``summary``, or from
    the folder's ``unread`` for unread only) and paged by id. A filtered or searched one is
    evaluated once, not twice: the page's ids carry the total with them (``COUNT(*) OVER ()``).
    A page past the end shows the last page, as Django's ``get_page``.
    """
    items = mailbox_items_list(mailbox=mailbox, folder=folder, listing=listing)
    paginator = Paginator(items.values_list("pk", flat=True), per_page)
    try:
        wanted = max(1, int(number))
    except (TypeError, ValueError):
        wanted = 1
    count = mailbox_items_count(mailbox=mailbox, folder=folder, listing=listing, summary=summary)
    page = None
    if count is not None:
        paginator.count = count
    else:
        start = (wanted - 1) * per_page
        rows = list(
            items.annotate(total=Window(Count("pk"))).values_list("pk", "total")[start : start + per_page]
        )
        if rows:
            paginator.count = rows[0][1]
            page = Page([pk for pk, _ in rows], wanted, paginator)
    if page is None:
        page = paginator.get_page(wanted)
    page.object_list = mailbox_items_rows(mailbox=mailbox, ids=list(page.object_list))
    return page


#: The columns a listing row shows (templates/mailbox/_listing.html): nothing else is read.
ROW_FIELDS = (
    "mailbox_id",
    "message_id",
    "folder_id",
    "received_at",
    "read_at",
    "flagged",
    "party",
    "message__label",
    "message__legal_notification",
    "message__mandatory",
    "message__reply_by",
)


def mailbox_items_rows(*, mailbox: Mailbox, ids: list[int]) -> list[MailboxItem]:
    """The page's items, in the order of ``ids``, with their message and what the row shows.

    A page is found first by id alone (:func:`mailbox_items_list`, cheap even 300 pages deep,
    where PostgreSQL would otherwise work out every skipped row's columns), then read here:
    only the columns the row shows (:data:`ROW_FIELDS`).
    """
    deadline_actions = Action.objects.filter(document__message=OuterRef("message"), end_at__isnull=False)
    attachments = Document.objects.filter(message=OuterRef("message"), kind=Document.Kind.ADDITIONAL)
    rows = (
        MailboxItem.objects.filter(mailbox=mailbox, pk__in=ids)
        .select_related("message")
        .only(*ROW_FIELDS)
        .annotate(has_attachments=Exists(attachments), has_action_deadline=Exists(deadline_actions))
        .in_bulk()
    )
    return [rows[pk] for pk in ids if pk in rows]


def mailbox_items_count(
    *, mailbox: Mailbox, folder: Folder, listing: Listing, summary: FolderSummary | None = None
) -> int | None:
    """The count of an unfiltered listing, or None if filtered: from ``summary`` or the folder's
    ``unread`` (:func:`folders_with_unread`) where given, else from the folder index."""
    if listing.sender or listing.has_deadline or listing.search:
        return None
    if listing.unread_only and getattr(folder, "unread", None) is not None:
        return folder.unread
    if not listing.unread_only and summary is not None:
        return summary.count
    items = MailboxItem.objects.filter(mailbox=mailbox, folder=folder, deleted_at__isnull=True)
    if listing.unread_only:
        items = items.filter(read_at__isnull=True)
    return items.count()


#: How long a folder's sender list is kept under one fingerprint (it cannot go stale under it).
SENDERS_CACHE_SECONDS = 60 * 60


def senders_in_folder(
    *, mailbox: Mailbox, folder: Folder, summary: FolderSummary | None = None
) -> list[tuple[str, str]]:
    """(sender id, name) of everyone who has a letter in the folder, by name. One query at most.

    With a fingerprinted ``summary`` (PostgreSQL) the list is cached under the folder's
    fingerprint: any letter arriving, moving or being emptied changes the key, so a cached list
    is always the folder's current one, and an unchanged folder costs no query at all.
    """
    key = None
    if summary is not None and summary.fingerprint is not None:
        key = f"mailbox:senders:{folder.pk}:{summary.count}:{summary.fingerprint}"
        cached = cache.get(key)
        if cached is not None:
            return cached
    rows = (
        MailboxItem.objects.filter(mailbox=mailbox, folder=folder, deleted_at__isnull=True)
        .order_by()
        .values_list("message__sender_id", "message__sender_label")
        .distinct()
    )
    names: dict[str, str] = {}
    for sender_id, label in rows:
        names.setdefault(sender_id, label or sender_id)
    senders = sorted(names.items(), key=lambda pair: pair[1].lower())
    if key is not None:
        cache.set(key, senders, SENDERS_CACHE_SECONDS)
    return senders


def mailbox_item_get(*, mailbox: Mailbox, item_id: int) -> MailboxItem:
    """One item of this mailbox (not emptied from the bin); DoesNotExist for anything else."""
    return MailboxItem.objects.select_related("message", "folder").get(
        pk=item_id, mailbox=mailbox, deleted_at__isnull=True
    )


def mailbox_item_for_page(*, mailbox: Mailbox, item_id: int) -> MailboxItem:
    """One item with everything its page shows: sender, documents, files and actions."""
    documents = Document.objects.exclude(kind=Document.Kind.TECHNICAL).prefetch_related("files", "actions")
    return (
        MailboxItem.objects.select_related(
            "message", "message__sender_organisation", "message__sent_by_representative", "folder"
        )
        .prefetch_related(Prefetch("message__documents", queryset=documents))
        .get(pk=item_id, mailbox=mailbox, deleted_at__isnull=True)
    )


def document_file_get(*, mailbox: Mailbox, item_id: int, file_id: int) -> tuple[MailboxItem, DocumentFile]:
    """A file of a message in this mailbox; DoesNotExist if the item or file is not ours."""
    item = mailbox_item_get(mailbox=mailbox, item_id=item_id)
    file = DocumentFile.objects.select_related("document__message").get(
        pk=file_id, document__message_id=item.message_id
    )
    return item, file


def action_get(*, mailbox: Mailbox, item_id: int, action_id: int) -> tuple[MailboxItem, Action]:
    """An action on a message in this mailbox; DoesNotExist if the item or action is not ours."""
    item = mailbox_item_get(mailbox=mailbox, item_id=item_id)
    action = Action.objects.get(pk=action_id, document__message_id=item.message_id)
    return item, action


def folders_for_move(*, folders: list[Folder], current: Folder) -> list[Folder]:
    """Where an item may be moved: the inbox and own folders, not where it already is."""
    return [f for f in folders if f.kind in (Folder.Kind.INBOX, Folder.Kind.CUSTOM) and f.pk != current.pk]
