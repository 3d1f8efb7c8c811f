"""What systems receive from the hub: MeMo for recipient systems, receipts for sender systems,
and each system's own part of the event log.

The recipient side of the path of one message, as in DESIGN.md:

ready for fetch (mailbox/delivery.py, or handed over by a push) -> the system lists its
queue -> fetches the MeMo, in the MeMo version it chose -> posts its business receipt ->
the delivery is DONE and the receipt goes to the sender's receipt queue.

Listing and fetching claim nothing, so any number of pollers may share one system's queue
and no message is lost when one of them dies: a message stays listed until its business
receipt arrives. The receipt is the only state change, a conditional UPDATE
(READY_FOR_FETCH -> DONE), so two receipts for one message count once.

Services here never see a request; every read is scoped to the calling system, and what is
not the caller's is "not found", never "forbidden": a system never learns that another
system's mail exists.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models import Case, IntegerField, Q, QuerySet, Value, When
from django.utils import timezone

from adminaccess.models import Event, System
from adminaccess.services import event_log_write
from mailbox.models import Delivery, Message, Receipt

#: NgDP pages are 0-based; ``size`` is bounded so one call stays cheap.
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 500


class ReceivingRefused(Exception):
    """An HTTP error with NgDP's body; nothing was changed."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.status, self.code, self.message = status, code, message


@dataclass(frozen=True)
class Page:
    """One page of a listing, in NgDP's shape (``content``, ``number``, ``size``, ...)."""

    content: list[Any]
    number: int
    size: int
    total_elements: int

    @property
    def total_pages(self) -> int:
        return math.ceil(self.total_elements / self.size)


def page_of(queryset: QuerySet, *, page: int, size: int) -> Page:
    """Page ``page`` (0-based) of an ordered queryset; past the end is an empty page."""
    if not queryset.ordered:
        raise ValueError("page_of needs an ordered queryset, or pages could overlap")
    total = queryset.count()
    start = page * size
    content = list(queryset[start : start + size]) if start < total else []
    return Page(content=content, number=page, size=size, total_elements=total)


# --- Recipient systems: the pull queue, fetch, business receipts -----------------------------

#: Handed to the system: pull rows made ready by the delivery engine, push rows after a
#: successful POST. Both wait here for the business receipt.
HANDED_OVER = (Delivery.State.READY_FOR_FETCH, Delivery.State.DONE)


def memos_ready_for_fetch(*, system: System) -> QuerySet:
    """messageUUIDs waiting for this system's business receipt, oldest first.

    Served by the partial index ``delivery_ready_for_fetch_idx`` (recipient_system,
    created_at WHERE state = READY_FOR_FETCH).
    """
    return (
        Delivery.objects.filter(recipient_system=system, state=Delivery.State.READY_FOR_FETCH)
        .order_by("created_at", "pk")
        .values_list("message__message_uuid", flat=True)
    )


def delivery_for_recipient_system(*, system: System, message_uuid: uuid.UUID) -> Delivery | None:
    """The delivery of ``message_uuid`` to this system, once it has been handed over.

    A messageUUID is unique per sending organisation, not across them, so two senders could
    (against the rules) reach one system with the same UUID. The oldest one still waiting
    for its receipt is chosen, so fetch and receipt always agree on which message is meant.
    """
    return (
        Delivery.objects.filter(
            recipient_system=system,
            message__message_uuid=message_uuid,
            # Always true here (a rerouted message names its new system); it lets the planner
            # use the UUID index, which holds only mail for recipient systems.
            message__recipient_system__isnull=False,
            state__in=HANDED_OVER,
        )
        .select_related("message")
        .order_by(
            Case(
                When(state=Delivery.State.READY_FOR_FETCH, then=Value(0)),
                default=Value(1),
                output_field=IntegerField(),
            ),
            "created_at",
            "pk",
        )
        .first()
    )


def _not_found(message_uuid: uuid.UUID) -> ReceivingRefused:
    return ReceivingRefused(404, "MESSAGE_NOT_FOUND", f"No message {message_uuid} for this system.")


@dataclass(frozen=True)
class FetchedMemo:
    data: bytes
    memo_version: str
    message: Message


def memo_fetch(*, system: System, message_uuid: uuid.UUID) -> FetchedMemo:
    """The MeMo for this system, in the MeMo version it chose; logs the first fetch.

    The stored bytes are served as they are when the versions match, so what the recipient
    gets is exactly what the sender signed off; otherwise the message is converted.
    """
    delivery = delivery_for_recipient_system(system=system, message_uuid=message_uuid)
    if delivery is None:
        raise _not_found(message_uuid)
    message = delivery.message
    with message.memo_file.open("rb") as stored:
        data = stored.read()
    if system.memo_version != message.memo_version:
        from memo import parse, serialize
        from memo.convert import convert

        data = serialize(convert(parse(data), system.memo_version))
    _first_fetch_record(delivery=delivery, system=system)
    return FetchedMemo(data=data, memo_version=system.memo_version, message=message)


def _first_fetch_record(*, delivery: Delivery, system: System) -> None:
    message = delivery.message
    fetched = Event.objects.filter(
        message_uuid=message.message_uuid,
        message=message,
        tag=Event.Tag.MEMO_SEND_FETCHED_BY_RECIPIENT_SYSTEM,
    )
    if fetched.exists():  # every fetch after the first: a read, no lock
        return
    with transaction.atomic():
        # The event log is append-only and has no unique key to lean on; locking the
        # delivery row makes two first fetches take turns, and the second sees the event.
        Delivery.objects.select_for_update().filter(pk=delivery.pk).values_list("pk").first()
        if fetched.exists():
            return
        event_log_write(
            tag=Event.Tag.MEMO_SEND_FETCHED_BY_RECIPIENT_SYSTEM,
            organisation=message.sender_organisation,
            system=system,
            message=message,
            subject=message.recipient_id,
            details={"memoVersion": system.memo_version},
        )


def business_receipt_receive(
    *,
    system: System,
    message_uuid: uuid.UUID,
    status: str,
    error_code: str = "",
    error_message: str = "",
) -> Receipt:
    """Take a recipient system's business receipt: the delivery is done, the sender is told.

    Exactly one receipt per message counts: the delivery moves READY_FOR_FETCH -> DONE with
    a conditional UPDATE, and a receipt that changes no row is refused (409) and changes
    nothing. The sender system finds a BUSINESS receipt in its queue. A message a person
    wrote from a mailbox has no sender system to tell; the receipt is then returned to the
    caller but not stored.
    """
    if status not in (Receipt.Status.COMPLETED, Receipt.Status.INVALID):
        raise ValueError(f"a business receipt is COMPLETED or INVALID, not {status!r}")
    delivery = delivery_for_recipient_system(system=system, message_uuid=message_uuid)
    if delivery is None:
        raise _not_found(message_uuid)
    message = delivery.message
    now = timezone.now()
    with transaction.atomic():
        done = Delivery.objects.filter(pk=delivery.pk, state=Delivery.State.READY_FOR_FETCH).update(
            state=Delivery.State.DONE, completed_at=now
        )
        if not done:
            raise ReceivingRefused(
                409,
                "BUSINESS_RECEIPT_ALREADY_RECEIVED",
                f"The business receipt for message {message_uuid} has already been received.",
            )
        receipt = Receipt(
            kind=Receipt.Kind.BUSINESS,
            sender_system=message.sender_system,
            organisation=message.sender_organisation,
            message=message,
            message_uuid=message.message_uuid,
            transmission_id=message.transmission_id,
            status=status,
            error_code=error_code,
            error_message=error_message,
            created_at=now,
            in_queue=True,
        )
        if message.sender_system_id is not None:
            receipt.save(force_insert=True)
        event_log_write(
            tag=Event.Tag.BUSINESS_RECEIPT_RECEIVED_BY_RECIPIENT_SYSTEM,
            organisation=message.sender_organisation,
            system=system,
            message=message,
            subject=message.recipient_id,
            details={"receiptStatus": status, "errorCode": error_code},
        )
    return receipt


# --- Sender systems: the receipt queue -------------------------------------------------------


def receipts_in_queue(*, system: System) -> QuerySet:
    """receipt ids waiting in this system's queue, oldest first (``receipt_queue_idx``)."""
    return (
        Receipt.objects.filter(sender_system=system, in_queue=True)
        .order_by("created_at", "pk")
        .values_list("receipt_id", flat=True)
    )


def receipt_take(*, system: System, receipt_id: uuid.UUID, delete: bool = False) -> Receipt:
    """A receipt in this system's queue; with ``delete`` it leaves the queue.

    Two pollers may both read a receipt before either deletes it; the conditional UPDATE
    makes the removal happen once, and both got the receipt, so none is lost.
    """
    receipt = (
        Receipt.objects.filter(receipt_id=receipt_id, sender_system=system, in_queue=True)
        .select_related("message")
        .first()
    )
    if receipt is None:
        raise ReceivingRefused(404, "RECEIPT_NOT_FOUND", f"No receipt {receipt_id} in this system's queue.")
    if delete:
        Receipt.objects.filter(pk=receipt.pk, in_queue=True).update(in_queue=False)
        receipt.in_queue = False
    return receipt


# --- Every system: its own part of the event log --------------------------------------------


def events_for_system(
    *,
    system: System,
    occurred_from: datetime | None = None,
    occurred_before: datetime | None = None,
    tag: str | None = None,
) -> QuerySet[Event]:
    """Events about this system, about messages it sent, and about messages handed to it,
    oldest first (so that paging through stays stable while new events are appended).

    A message routed to the system but not yet handed over (waiting for its value date, or
    recalled before it) stays invisible, in the log as in the queue.
    ``occurred_from`` is inclusive, ``occurred_before`` exclusive.
    """
    events = Event.objects.filter(
        Q(system=system)
        | Q(message__sender_system=system)
        | Q(message__delivery__recipient_system=system, message__delivery__state__in=HANDED_OVER)
    )
    if occurred_from is not None:
        events = events.filter(occurred_at__gte=occurred_from)
    if occurred_before is not None:
        events = events.filter(occurred_at__lt=occurred_before)
    if tag:
        events = events.filter(tag=tag)
    return events.select_related("system").order_by("occurred_at", "pk")
