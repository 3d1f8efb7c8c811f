"""Batches are judged message by message like single sends, but stored and queued in bulk."""

import uuid
from unittest import mock

import pytest
from django.db import IntegrityError

from mailbox.models import Delivery, MailboxItem, Message, Receipt
from mailbox.sending import memo_send_many
from tests.factories import OrganisationFactory, PersonFactory, make_system
from tests.mailbox.api.helpers import letter

pytestmark = pytest.mark.django_db


@pytest.fixture
def sender_system():
    return make_system(OrganisationFactory())[0]


def _letter(system, **kwargs):
    recipient = kwargs.pop("to", None) or PersonFactory().cpr
    return letter(sender_cvr=system.organisation.cvr, recipient_id=recipient, **kwargs)


def test_the_same_file_twice_in_one_batch_is_one_message_and_a_duplicate(sender_system):
    _, data = _letter(sender_system)
    outcomes = memo_send_many(
        items=[("a.xml", data), ("b.xml", data)], system=sender_system, batch_id=uuid.uuid4()
    )
    assert outcomes == ["RECEIVED", "DUPLICATE"]
    assert Message.objects.count() == 1


def test_a_messageuuid_reused_for_another_message_in_one_batch_is_invalid(sender_system):
    message_uuid = uuid.uuid4()
    _, first = _letter(sender_system, message_uuid=message_uuid)
    _, second = _letter(sender_system, message_uuid=message_uuid, label="Et andet brev")
    outcomes = memo_send_many(
        items=[("a", first), ("b", second)], system=sender_system, batch_id=uuid.uuid4()
    )
    assert outcomes == ["RECEIVED", "INVALID"]
    refused = Receipt.objects.get(status=Receipt.Status.INVALID)
    assert (refused.error_code, refused.details["file"], refused.in_queue) == (
        "MESSAGE_UUID_ALREADY_USED",
        "b",
        True,
    )


def test_a_batch_queues_one_delivery_task_per_chunk_and_delivers_everything(
    sender_system, settings, django_capture_on_commit_callbacks
):
    items = [(f"{n}.xml", _letter(sender_system)[1]) for n in range(7)]
    with (
        mock.patch("mailbox.sending.BATCH_CHUNK", 3),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        outcomes = memo_send_many(items=items, system=sender_system, batch_id=uuid.uuid4())
    assert outcomes == ["RECEIVED"] * 7
    # Chunks of 3, 3 and 1, then one search-indexing task per delivered letter.
    assert len(callbacks) == 3 + 7
    assert MailboxItem.objects.count() == 7
    assert set(Delivery.objects.values_list("state", flat=True)) == {Delivery.State.DONE}
    assert Receipt.objects.filter(in_queue=True, status=Receipt.Status.RECEIVED).count() == 7


def test_a_chunk_that_races_a_single_send_falls_back_to_one_by_one(sender_system):
    items = [(f"{n}.xml", _letter(sender_system)[1]) for n in range(2)]
    with mock.patch("mailbox.sending._send_chunk", side_effect=IntegrityError("raced")):
        outcomes = memo_send_many(items=items, system=sender_system, batch_id=uuid.uuid4())
    assert outcomes == ["RECEIVED", "RECEIVED"]
    assert Message.objects.count() == 2
    assert Receipt.objects.filter(in_queue=True).count() == 2


def test_bulk_and_single_sends_route_alike(sender_system):
    from mailbox.models import Exemption

    exempt = PersonFactory()
    Exemption.objects.create(mailbox=exempt.mailbox, reason="x")
    _, to_exempt = _letter(sender_system, to=exempt.cpr)
    _, to_nobody = _letter(sender_system, to="0000000000")
    outcomes = memo_send_many(
        items=[("a", to_exempt), ("b", to_nobody)], system=sender_system, batch_id=uuid.uuid4()
    )
    assert outcomes == ["RECEIVED", "NOT_ALLOWED"]
    assert Message.objects.get().channel == Message.Channel.REMOTE_PRINT
    assert Receipt.objects.get(status="NOT_ALLOWED").error_code == "RECIPIENT_NOT_FOUND"
