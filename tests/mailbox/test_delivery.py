"""The worker side of the outbox: delivering once, yielding to a recall, and the recovery sweep."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from adminaccess.models import Event, System
from mailbox.delivery import deliveries_sweep, delivery_process, stuck_after
from mailbox.models import Delivery, MailboxItem, Message
from mailbox.sending import memo_recall, memo_send
from tests.factories import OrganisationFactory, PersonFactory, make_system
from tests.mailbox.api.helpers import letter

pytestmark = pytest.mark.django_db


def _accepted(sender, system, recipient_id, **kwargs) -> Delivery:
    """A message accepted whose delivery task was lost: on_commit callbacks never run here."""
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=recipient_id, **kwargs)
    memo_send(data=data, system=system, expected_uuid=message_uuid)
    delivery = Delivery.objects.select_related("message").get(message__message_uuid=message_uuid)
    assert (delivery.state, delivery.message.state) == (Delivery.State.PENDING, Message.State.ACCEPTED)
    return delivery


def test_delivering_twice_puts_one_item_in_the_inbox(sender, sender_system):
    person = PersonFactory()
    delivery = _accepted(sender, sender_system, person.cpr)
    assert delivery_process(delivery.pk) == "delivered"
    assert delivery_process(delivery.pk) == "not-claimed"
    item = MailboxItem.objects.get()
    assert (item.message_id, item.mailbox, item.folder.kind) == (delivery.message_id, person.mailbox, "INBOX")
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (Delivery.State.DONE, 1)
    assert delivery.completed_at is not None
    assert Event.objects.filter(tag=Event.Tag.MEMO_SEND_DELIVERED_TO_MAILBOX).count() == 1
    message = Message.objects.get()
    assert (message.state, message.delivered_at) == (Message.State.DELIVERED, delivery.completed_at)


def test_the_task_delivers_once_when_queued_after_commit(
    sender, sender_system, django_capture_on_commit_callbacks
):
    person = PersonFactory()
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=person.cpr)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        memo_send(data=data, system=sender_system, expected_uuid=message_uuid)
        assert not MailboxItem.objects.exists()
    # The delivery task, then (queued by it) the task that indexes the letter's text for search.
    assert len(callbacks) == 2
    callbacks[0]()  # the broker delivered the task twice
    assert MailboxItem.objects.count() == 1


def test_a_message_recalled_after_the_claim_is_cancelled_not_delivered(sender, sender_system):
    # The recall won the race for the message row: the delivery must yield.
    delivery = _accepted(sender, sender_system, PersonFactory().cpr)
    Message.objects.filter(pk=delivery.message_id).update(
        state=Message.State.RECALLED, recalled_at=timezone.now()
    )
    assert delivery_process(delivery.pk) == "cancelled"
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.CANCELLED
    assert delivery.completed_at is not None
    assert Message.objects.get().state == Message.State.RECALLED
    assert not MailboxItem.objects.exists()
    assert not Event.objects.filter(tag=Event.Tag.MEMO_SEND_DELIVERED_TO_MAILBOX).exists()


def test_a_recalled_message_is_not_delivered_by_a_late_task(sender, sender_system):
    delivery = _accepted(sender, sender_system, PersonFactory().cpr)
    memo_recall(message_uuid=delivery.message.message_uuid, system=sender_system)
    assert delivery_process(delivery.pk) == "not-claimed"
    assert deliveries_sweep() == 0
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (Delivery.State.CANCELLED, 0)
    assert not MailboxItem.objects.exists()


def test_the_sweep_delivers_what_a_lost_task_left_pending(sender, sender_system):
    person = PersonFactory()
    delivery = _accepted(sender, sender_system, person.cpr)
    assert deliveries_sweep() == 1
    assert deliveries_sweep() == 0
    assert MailboxItem.objects.get().mailbox == person.mailbox
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.DONE


def test_the_sweep_leaves_rows_that_are_not_yet_due(sender, sender_system):
    delivery = _accepted(sender, sender_system, PersonFactory().cpr)
    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now() + timedelta(minutes=5))
    assert deliveries_sweep() == 0
    assert not MailboxItem.objects.exists()


def test_the_sweep_leaves_held_mail_to_the_value_date_release(sender, sender_system):
    person = PersonFactory()
    message_uuid, data = letter(
        sender_cvr=sender.cvr, recipient_id=person.cpr, value_date=timezone.localdate() + timedelta(days=1)
    )
    memo_send(data=data, system=sender_system, expected_uuid=message_uuid)
    assert deliveries_sweep() == 0
    assert Delivery.objects.get().state == Delivery.State.HELD


def test_the_sweep_recovers_a_claim_a_dead_worker_left_behind(sender, sender_system):
    delivery = _accepted(sender, sender_system, PersonFactory().cpr)
    claimed_at = timezone.now()
    # A worker claimed the row and died before delivering it.
    Delivery.objects.filter(pk=delivery.pk).update(
        state=Delivery.State.IN_PROGRESS, claimed_at=claimed_at, attempts=1
    )
    with time_machine.travel(claimed_at + stuck_after() - timedelta(seconds=1), tick=False):
        assert deliveries_sweep() == 0
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.IN_PROGRESS
    assert not MailboxItem.objects.exists()
    with time_machine.travel(claimed_at + stuck_after() + timedelta(seconds=1), tick=False):
        assert deliveries_sweep() == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (Delivery.State.DONE, 2)
    assert MailboxItem.objects.count() == 1


def test_mail_for_a_pull_system_becomes_ready_for_fetch(sender, sender_system):
    authority = OrganisationFactory()
    pull, _ = make_system(authority, kind=System.Kind.RECIPIENT, is_default=True)
    delivery = _accepted(sender, sender_system, authority.cvr, recipient_type="CVR")
    assert delivery_process(delivery.pk) == "ready-for-fetch"
    assert delivery_process(delivery.pk) == "not-claimed"
    delivery.refresh_from_db()
    message = Message.objects.get()
    assert delivery.state == Delivery.State.READY_FOR_FETCH
    assert (message.state, message.recipient_system) == (Message.State.DELIVERED, pull)
    assert message.delivered_at is not None
    event = Event.objects.get(tag=Event.Tag.MEMO_SEND_READY_FOR_FETCH)
    assert (event.message, event.system, event.organisation, event.subject) == (
        message,
        pull,
        sender,
        authority.cvr,
    )
    assert not MailboxItem.objects.exists()


def test_a_nemsms_is_delivered_by_sending_its_text_once(sender, sender_system):
    from mailbox import sms
    from mailbox.models import Message, Notification
    from mailbox.notifications import notifications_send_pending

    sms.outbox.clear()
    person = PersonFactory()
    person.nemsms_mobile = "+4512345678"
    person.save(update_fields=["nemsms_mobile"])
    delivery = _accepted(sender, sender_system, person.cpr, nemsms=True)
    assert delivery_process(delivery.pk) == "nemsms-queued"
    assert delivery_process(delivery.pk) == "not-claimed"
    [notification] = Notification.objects.filter(message=delivery.message)
    assert (notification.channel, notification.address) == ("NEMSMS", "+4512345678")
    # The send task is queued after commit (not run here); beat's sweep sends it just the same.
    assert notifications_send_pending() == 1
    assert [m.to for m in sms.outbox] == ["+4512345678"]
    delivery.refresh_from_db()
    assert delivery.state == Delivery.State.DONE
    assert Message.objects.get(pk=delivery.message_id).state == Message.State.DELIVERED
