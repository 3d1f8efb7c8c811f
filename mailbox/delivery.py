"""Delivering accepted messages: the worker side of the transactional outbox.

A delivery row is claimed with a conditional UPDATE (PENDING -> IN_PROGRESS) before any work,
so a task that runs twice, or two workers, deliver once. The message row is then locked and
must still be ACCEPTED: a recall that got there first wins, and the delivery is cancelled.

Handled here: the recipient's mailbox, and recipient systems that pull (the message becomes
ready for fetch); remote print (rendered here, exported in batches by mailbox/printing.py);
pushes go to mailbox/resend.py; NemSMS through its notification (mailbox/notifications.py).
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from adminaccess.models import Event, System
from adminaccess.services import event_log_write
from mailbox.models import Delivery, Message, PrintJob
from mailbox.notifications import notifications_create
from mailbox.printing import print_process
from mailbox.resend import PUSH, push_delivery_process
from mailbox.search import message_texts_index_later
from mailbox.services import message_deliver_to_mailbox, message_documents_build


def stuck_after() -> timedelta:
    """Rows a worker claimed but never finished (it died) are retried after this long."""
    return timedelta(seconds=settings.DIGITALPOST_STUCK_AFTER_SECONDS)


SWEEP_BATCH = 500

# Which pending rows this module can deliver now.
DELIVERABLE = (
    Q(channel=Message.Channel.MAILBOX)
    | Q(channel=Message.Channel.RECIPIENT_SYSTEM, recipient_system__protocol=System.Protocol.REST_PULL)
    | Q(channel=Message.Channel.REMOTE_PRINT)
    | Q(channel=Message.Channel.NEMSMS)
)


def delivery_process(delivery_id: int) -> str:
    """Deliver one pending row. Safe to call any number of times; returns what happened."""
    now = timezone.now()
    claimed = Delivery.objects.filter(DELIVERABLE, pk=delivery_id, state=Delivery.State.PENDING).update(
        state=Delivery.State.IN_PROGRESS, claimed_at=now, attempts=F("attempts") + 1
    )
    if not claimed:
        if Delivery.objects.filter(PUSH, pk=delivery_id, state=Delivery.State.PENDING).exists():
            return push_delivery_process(delivery_id, now=now)
        return "not-claimed"
    with transaction.atomic():
        delivery = Delivery.objects.select_related("recipient_system").get(pk=delivery_id)
        message = Message.objects.select_for_update().get(pk=delivery.message_id)
        if message.state != Message.State.ACCEPTED:
            Delivery.objects.filter(pk=delivery.pk).update(state=Delivery.State.CANCELLED, completed_at=now)
            return "cancelled"
        # Mail from the send API comes without its documents' rows: they are built here,
        # before anyone can see it (Message.documents_pending).
        message_documents_build(message)
        refs = {
            "organisation": message.sender_organisation,
            "message": message,
            "subject": message.recipient_id,
        }
        if delivery.channel == Message.Channel.REMOTE_PRINT:
            return _to_print(delivery, message, now)
        if delivery.channel == Message.Channel.NEMSMS:
            # Sending the text is the delivery; the notification marks both done (or failed).
            notifications_create(message=message)
            return "nemsms-queued"
        if delivery.channel == Message.Channel.MAILBOX:
            message_deliver_to_mailbox(message=message, at=now)
            notifications_create(message=message)
            message_texts_index_later(message_ids=[message.pk])
            Delivery.objects.filter(pk=delivery.pk).update(state=Delivery.State.DONE, completed_at=now)
            event_log_write(tag=Event.Tag.MEMO_SEND_DELIVERED_TO_MAILBOX, **refs)
            return "delivered"
        # A pull system: delivered once it is in the system's queue.
        Message.objects.filter(pk=message.pk).update(state=Message.State.DELIVERED, delivered_at=now)
        Delivery.objects.filter(pk=delivery.pk).update(state=Delivery.State.READY_FOR_FETCH)
        event_log_write(tag=Event.Tag.MEMO_SEND_READY_FOR_FETCH, system=delivery.recipient_system, **refs)
        return "ready-for-fetch"


def _to_print(delivery: Delivery, message: Message, now) -> str:
    """Render the letter for remote print; the export job hands it to the print provider."""
    job = print_process(message_id=message.pk)
    if job.state == PrintJob.State.FAILED:
        reasons = "; ".join(p.get("reason", "") for p in job.problems)
        Delivery.objects.filter(pk=delivery.pk).update(
            state=Delivery.State.FAILED, completed_at=now, last_error=reasons[:1000]
        )
        Message.objects.filter(pk=message.pk).update(state=Message.State.FAILED)
        return "print-failed"
    # The print job is now the record of what is owed; exporting it marks the message delivered.
    Delivery.objects.filter(pk=delivery.pk).update(state=Delivery.State.DONE, completed_at=now)
    return "rendered-for-print"


def deliveries_sweep(*, now=None, batch: int = SWEEP_BATCH) -> int:
    """Recover what lost tasks left behind: stuck claims, and due rows nobody delivered."""
    now = now or timezone.now()
    Delivery.objects.filter(state=Delivery.State.IN_PROGRESS, claimed_at__lt=now - stuck_after()).update(
        state=Delivery.State.PENDING, claimed_at=None, next_attempt_at=now
    )
    due = list(
        Delivery.objects.filter(DELIVERABLE, state=Delivery.State.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:batch]
    )
    return sum(delivery_process(pk) != "not-claimed" for pk in due)
