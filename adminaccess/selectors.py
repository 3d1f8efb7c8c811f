"""Reads for Administrativ Adgang: the organisation's event log, recall search and usage statistics.

The event log
-------------
An event belongs to an organisation when ``Event.organisation`` is it, OR it is about a message
the organisation sent or received, OR it is about one of its systems. Written as one ``WHERE``
with ORs across joins (as ``mailbox.receiving.events_for_system`` does for one system), the
planner can use no index and reads the whole national table. So the log is a UNION of branches,
each one a plain condition that one index serves:

- ``organisation = O``                       -> ``event_org_time_idx`` (organisation, -occurred_at)
- ``system = S``, one branch per system of O  -> ``event_system_time_idx`` (system, -occurred_at)
- ``message -> sender_organisation = O``     -> message (sender_organisation, message_uuid) unique
  index, then ``event.message_id``
- ``message -> recipient_organisation = O``  -> message recipient_organisation index, then
  ``event.message_id``

Paging is keyset over ``(occurred_at, id)``, newest first: every branch takes only the
``limit + 1`` rows after the cursor, in index order for the first two kinds, and the UNION
(which also drops an event that several branches find) is sorted and cut once more. No page
ever counts the whole set. The filters (dates, tag, system, subject, message UUID) are applied
inside every branch, so a selective filter (a CPR, a message UUID) lets the planner drive each
branch from the ``event_subject_idx`` or ``event_message_uuid_idx`` instead.

The two message branches are index nested loops over the organisation's own messages, then a
top-N sort: their cost grows with how much mail the organisation has, never with the national
table. Every event writer today also stamps the sending organisation on the event (so the
"sent" branch rarely adds a row), and for a national sender this branch is the one to replace
by a denormalised column (e.g. the recipient organisation on the event) with its own
(column, -occurred_at) index, if its log pages grow slow.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from adminaccess.models import Event, System
from mailbox.models import Delivery, MailboxItem, Message, PrintJob, Receipt
from rights.models import Organisation

#: Events on one page of the log.
PAGE_SIZE = 50
#: Rows fetched per round when the whole filtered log is exported.
EXPORT_CHUNK = 1000
#: Above this many systems, the system branch becomes one ``system_id IN (...)`` branch.
MAX_SYSTEM_BRANCHES = 50


# --- The event log -------------------------------------------------------------------------


@dataclass(frozen=True)
class EventFilter:
    """What the staff member asked for; every field optional. Dates are inclusive days."""

    date_from: date | None = None
    date_to: date | None = None
    tag: str = ""
    system: System | None = None
    subject: str = ""
    message_uuid: uuid.UUID | None = None


@dataclass(frozen=True)
class Cursor:
    """A position in the log: the (occurred_at, id) of the last event seen."""

    occurred_at: datetime
    id: int

    def encode(self) -> str:
        return f"{self.occurred_at.isoformat()}_{self.id}"

    @classmethod
    def decode(cls, value: str) -> Cursor | None:
        """The cursor in ``value``, or None when it is not one (a tampered link starts over)."""
        stamp, _, pk = value.rpartition("_")
        try:
            occurred_at = datetime.fromisoformat(stamp)
            pk_number = int(pk)
        except ValueError:
            return None
        if timezone.is_naive(occurred_at) or pk_number < 1:
            return None
        return cls(occurred_at, pk_number)


@dataclass(frozen=True)
class EventPage:
    events: list[Event]
    # Cursors for the neighbouring pages; None where there is none.
    older: Cursor | None
    newer: Cursor | None


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def _filtered(events: QuerySet, flt: EventFilter) -> QuerySet:
    if flt.date_from is not None:
        events = events.filter(occurred_at__gte=_day_start(flt.date_from))
    if flt.date_to is not None:
        events = events.filter(occurred_at__lt=_day_start(flt.date_to + timedelta(days=1)))
    if flt.tag:
        events = events.filter(tag=flt.tag)
    if flt.system is not None:
        events = events.filter(system=flt.system)
    if flt.subject:
        events = events.filter(subject=flt.subject)
    if flt.message_uuid is not None:
        events = events.filter(message_uuid=flt.message_uuid)
    return events


def _branches(organisation: Organisation, flt: EventFilter) -> list[QuerySet]:
    """One queryset per indexed branch of "belongs to the organisation"."""
    if flt.system is not None:
        # The system is one of the organisation's (the view looked it up within it), so every
        # event about it belongs: its own branch is the whole answer.
        if flt.system.organisation_id != organisation.pk:
            return []
        return [Event.objects.filter(system=flt.system)]
    system_ids = list(System.objects.filter(organisation=organisation).values_list("pk", flat=True))
    branches = [Event.objects.filter(organisation=organisation)]
    if len(system_ids) <= MAX_SYSTEM_BRANCHES:
        branches += [Event.objects.filter(system_id=pk) for pk in system_ids]
    else:
        branches.append(Event.objects.filter(system_id__in=system_ids))
    branches.append(Event.objects.filter(message__sender_organisation=organisation))
    branches.append(Event.objects.filter(message__recipient_organisation=organisation))
    return branches


def _page_ids(
    organisation: Organisation, flt: EventFilter, *, limit: int, after: Cursor | None, before: Cursor | None
) -> list[int]:
    """The ids of up to ``limit`` events older than ``after`` (or newer than ``before``), in
    log order (newest first). One statement: a UNION of per-branch keyset queries."""
    newest_first = before is None
    parts, params = [], []
    for number, branch in enumerate(_branches(organisation, flt)):
        branch = _filtered(branch, flt)
        if after is not None:
            branch = branch.filter(occurred_at__lte=after.occurred_at).filter(
                Q(occurred_at__lt=after.occurred_at) | Q(id__lt=after.id)
            )
        if before is not None:
            branch = branch.filter(occurred_at__gte=before.occurred_at).filter(
                Q(occurred_at__gt=before.occurred_at) | Q(id__gt=before.id)
            )
        order = ("-occurred_at", "-id") if newest_first else ("occurred_at", "id")
        sql, branch_params = (
            branch.order_by(*order).values("id", "occurred_at")[:limit].query.sql_with_params()
        )
        # Each branch is a sub-select of its own so that its ORDER BY and LIMIT stay its own.
        parts.append(f"SELECT * FROM ({sql}) AS branch{number}")  # noqa: S608 - Django-built SQL
        params += branch_params
    if not parts:
        return []
    direction = "DESC" if newest_first else "ASC"
    sql = " UNION ".join(parts) + f" ORDER BY 2 {direction}, 1 {direction} LIMIT {int(limit)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = [row[0] for row in cursor.fetchall()]
    return ids if newest_first else ids[::-1]


def _load(ids: list[int]) -> list[Event]:
    """The events with these ids, in this order, with who did it (one query for the page)."""
    events = Event.objects.select_related("system", "actor_user", "actor_person").in_bulk(ids)
    return [events[pk] for pk in ids if pk in events]


def events_page(
    *,
    organisation: Organisation,
    flt: EventFilter,
    after: Cursor | None = None,
    before: Cursor | None = None,
    size: int = PAGE_SIZE,
) -> EventPage:
    """One page of the organisation's event log, newest first, after/before a cursor."""
    ids = _page_ids(organisation, flt, limit=size + 1, after=after, before=before)
    if before is None:
        more = len(ids) > size
        ids = ids[:size]
    else:
        more = len(ids) > size
        ids = ids[-size:] if more else ids
    events = _load(ids)
    if not events:
        return EventPage([], None, None)
    first, last = events[0], events[-1]
    if before is None:
        older = Cursor(last.occurred_at, last.pk) if more else None
        newer = Cursor(first.occurred_at, first.pk) if after is not None else None
    else:
        newer = Cursor(first.occurred_at, first.pk) if more else None
        older = Cursor(last.occurred_at, last.pk)
    return EventPage(events, older=older, newer=newer)


def events_for_export(
    *, organisation: Organisation, flt: EventFilter, chunk: int = EXPORT_CHUNK
) -> Iterator[Event]:
    """Every event of the filtered log, newest first, fetched a chunk at a time by keyset."""
    after = None
    while True:
        ids = _page_ids(organisation, flt, limit=chunk, after=after, before=None)
        events = _load(ids)
        yield from events
        if len(ids) < chunk or not events:
            return
        after = Cursor(events[-1].occurred_at, events[-1].pk)


def event_actor(event: Event) -> tuple[str, str]:
    """Who did it, as (kind, name): a staff member, a person or a system; ("", "") for the hub."""
    if event.actor_user_id is not None:
        user = event.actor_user
        name = user.get_full_name() or user.first_name or user.username if user else ""
        return "staff", name
    if event.actor_person_id is not None:
        return "person", event.actor_person.name if event.actor_person else ""
    if event.system_id is not None:
        return "system", event.system.name if event.system else ""
    return "", ""


# --- Recall --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecallFilter:
    """Which held messages of the organisation to find."""

    sender_system: System | None = None
    value_date: date | None = None
    message_uuid: uuid.UUID | None = None
    recipient: str = ""
    batch_id: uuid.UUID | None = None

    @property
    def is_mass_send(self) -> bool:
        """Enough to name a whole mass send: a sender system and value date, or a batch."""
        return (self.sender_system is not None and self.value_date is not None) or self.batch_id is not None


def messages_for_recall(*, organisation: Organisation, flt: RecallFilter) -> QuerySet[Message]:
    """Messages this organisation sent that match ``flt``, in any state (the caller narrows).

    Only the organisation's own messages: a sender system or message of another organisation
    simply finds nothing.
    """
    messages = Message.objects.filter(sender_organisation=organisation)
    if flt.sender_system is not None:
        messages = messages.filter(sender_system=flt.sender_system)
    if flt.value_date is not None:
        messages = messages.filter(value_date=flt.value_date)
    if flt.message_uuid is not None:
        messages = messages.filter(message_uuid=flt.message_uuid)
    if flt.recipient:
        messages = messages.filter(recipient_id=flt.recipient)
    if flt.batch_id is not None:
        in_batch = Receipt.objects.filter(
            organisation=organisation, kind=Receipt.Kind.TECHNICAL, details__batchId=str(flt.batch_id)
        ).values("message_id")
        messages = messages.filter(pk__in=in_batch)
    return messages


def held_messages(*, organisation: Organisation, flt: RecallFilter) -> QuerySet[Message]:
    """Value-dated messages of the organisation still waiting for their date, soonest first."""
    return (
        messages_for_recall(organisation=organisation, flt=flt)
        .filter(state=Message.State.HELD)
        .select_related("sender_system")
        .order_by("value_date", "pk")
    )


# --- Usage statistics ----------------------------------------------------------------------

#: The longest period one statistics page covers.
MAX_STATISTICS_DAYS = 366
DEFAULT_STATISTICS_DAYS = 30


@dataclass
class DayStatistics:
    day: date
    sent: int = 0
    received: int = 0
    delivered_to_mailboxes: int = 0
    read: int = 0
    printed: int = 0
    failed: int = 0

    @property
    def read_share(self) -> float | None:
        return self.read / self.delivered_to_mailboxes if self.delivered_to_mailboxes else None


@dataclass
class SystemStatistics:
    system_id: int | None
    name: str
    sent: int = 0
    received: int = 0


@dataclass
class Statistics:
    date_from: date
    date_to: date
    days: list[DayStatistics]
    systems: list[SystemStatistics]
    # (day, system id, sent, received) for the per-system export.
    by_day_and_system: list[tuple[date, int | None, int, int]] = field(default_factory=list)

    def total(self, name: str) -> int:
        return sum(getattr(day, name) for day in self.days)

    @property
    def read_share(self) -> float | None:
        delivered = self.total("delivered_to_mailboxes")
        return self.total("read") / delivered if delivered else None

    def maximum(self, *names: str) -> int:
        return max((getattr(day, name) for day in self.days for name in names), default=0)


def default_statistics_period(today: date | None = None) -> tuple[date, date]:
    today = today or timezone.localdate()
    return today - timedelta(days=DEFAULT_STATISTICS_DAYS - 1), today


def _per_day(queryset: QuerySet, stamp: str, *extra: str) -> list[dict]:
    """``COUNT(*)`` grouped by the local day of ``stamp`` (and ``extra`` columns), in the database."""
    day = TruncDate(stamp, tzinfo=timezone.get_current_timezone())
    return list(queryset.annotate(day=day).values("day", *extra).annotate(n=Count("pk")).order_by())


def usage_statistics(*, organisation: Organisation, date_from: date, date_to: date) -> Statistics:
    """Aggregate numbers for one organisation over whole local days ``date_from``..``date_to``.

    - sent: messages the organisation sent (any channel, by when the hub accepted them), per
      day and per sender system;
    - received: messages addressed to the organisation, per day and per recipient system;
    - delivered to mailboxes / read: the recipients' mailbox rows of mail it sent, by the day
      they arrived, and how many of those have been read (the read share);
    - printed: its letters handed to the print provider (remote print), by export day;
    - failed: its deliveries that failed for good, by the day they failed.
    Every number is one GROUP BY query; nothing is counted row by row in Python.
    """
    start, end = _day_start(date_from), _day_start(date_to + timedelta(days=1))
    days = {
        date_from + timedelta(days=n): DayStatistics(date_from + timedelta(days=n))
        for n in range((date_to - date_from).days + 1)
    }

    def add(rows: list[dict], name: str) -> None:
        for row in rows:
            if row["day"] in days:
                setattr(days[row["day"]], name, getattr(days[row["day"]], name) + row["n"])

    sent = _per_day(
        Message.objects.filter(sender_organisation=organisation, created_at__gte=start, created_at__lt=end),
        "created_at",
        "sender_system",
    )
    received = _per_day(
        Message.objects.filter(
            recipient_organisation=organisation, created_at__gte=start, created_at__lt=end
        ),
        "created_at",
        "recipient_system",
    )
    add(sent, "sent")
    add(received, "received")
    items = MailboxItem.objects.filter(
        message__sender_organisation=organisation, received_at__gte=start, received_at__lt=end
    ).exclude(mailbox__owner_organisation=organisation)  # not its own Sent folder
    add(_per_day(items, "received_at"), "delivered_to_mailboxes")
    add(_per_day(items.filter(read_at__isnull=False), "received_at"), "read")
    add(
        _per_day(
            PrintJob.objects.filter(
                message__sender_organisation=organisation,
                state=PrintJob.State.EXPORTED,
                exported_at__gte=start,
                exported_at__lt=end,
            ),
            "exported_at",
        ),
        "printed",
    )
    add(
        _per_day(
            Delivery.objects.filter(
                message__sender_organisation=organisation,
                state=Delivery.State.FAILED,
                completed_at__gte=start,
                completed_at__lt=end,
            ),
            "completed_at",
        ),
        "failed",
    )

    names = dict(System.objects.filter(organisation=organisation).values_list("pk", "name"))
    systems: dict[int | None, SystemStatistics] = {}
    by_day_and_system: dict[tuple[date, int | None], list[int]] = {}
    for rows, key, column in ((sent, "sender_system", 0), (received, "recipient_system", 1)):
        for row in rows:
            system_id = row[key]
            entry = systems.setdefault(system_id, SystemStatistics(system_id, names.get(system_id, "")))
            if column == 0:
                entry.sent += row["n"]
            else:
                entry.received += row["n"]
            by_day_and_system.setdefault((row["day"], system_id), [0, 0])[column] += row["n"]
    return Statistics(
        date_from=date_from,
        date_to=date_to,
        days=list(days.values()),
        systems=sorted(systems.values(), key=lambda s: (s.system_id is None, s.name, s.system_id or 0)),
        by_day_and_system=sorted(
            (
                (day, system_id, counts[0], counts[1])
                for (day, system_id), counts in by_day_and_system.items()
            ),
            key=lambda row: (row[0], row[1] is None, names.get(row[1], ""), row[1] or 0),
        ),
    )


#: Batch uploads shown on a sender system's page, newest first.
RECENT_BATCHES = 20


def recent_batches(*, system: System, limit: int = RECENT_BATCHES) -> list:
    """The system's latest batch uploads, each with ``chunks_total`` and ``chunks_done`` and,
    once judged, ``summary`` (the counts of its summary receipt). Two queries."""
    from mailbox.models import Batch

    batches = list(
        Batch.objects.filter(sender_system=system)
        .annotate(
            chunks_total=Count("chunks"),
            chunks_done=Count("chunks", filter=Q(chunks__done_at__isnull=False)),
        )
        .order_by("-created_at")[:limit]
    )
    summaries = dict(
        Receipt.objects.filter(
            kind=Receipt.Kind.BATCH, sender_system=system, transmission_id__in=[b.pk for b in batches]
        ).values_list("transmission_id", "details")
    )
    for batch in batches:
        batch.summary = summaries.get(batch.pk)
    return batches
