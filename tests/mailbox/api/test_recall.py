"""DELETE /apis/v1/memos/{messageUUID}: recall a message before it is delivered."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from adminaccess.models import Event, System
from mailbox.models import Delivery, MailboxItem, Message
from mailbox.release import release_due
from tests.factories import OrganisationFactory, PersonFactory, make_system
from tests.mailbox.api.helpers import letter, recall, send, send_rows

pytestmark = pytest.mark.django_db

VALUE_DATE = timezone.localdate() + timedelta(days=2)


@pytest.fixture
def sender():
    return OrganisationFactory(name="Kommunen")


@pytest.fixture
def sender_system(sender):
    return make_system(sender)


@pytest.fixture
def person():
    return PersonFactory()


def _sent(client, sender, sender_system, person, value_date=VALUE_DATE) -> Message:
    system, token = sender_system
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=person.cpr, value_date=value_date)
    response = send(client, system, token, data, message_uuid)
    assert (response.status_code, response.json()["receiptStatus"]) == (201, "RECEIVED")
    return Message.objects.get(message_uuid=message_uuid)


def _refused(response, status: int, code: str) -> None:
    body = response.json()
    assert (response.status_code, body["code"]) == (status, code), body


def test_a_held_message_is_recalled(client, sender, sender_system, person):
    message = _sent(client, sender, sender_system, person)
    response = recall(client, *sender_system, message.message_uuid)
    assert response.status_code == 204
    assert response.content == b""
    message.refresh_from_db()
    delivery = Delivery.objects.get(message=message)
    assert message.state == Message.State.RECALLED
    assert message.recalled_at is not None
    assert (delivery.state, delivery.completed_at) == (Delivery.State.CANCELLED, message.recalled_at)
    event = Event.objects.get(tag=Event.Tag.MEMO_MESSAGE_RECALLED)
    assert (event.message, event.system, event.organisation, event.subject, event.actor_user) == (
        message,
        sender_system[0],
        sender,
        person.cpr,
        None,
    )


def test_a_recalled_message_is_never_released(client, sender, sender_system, person):
    message = _sent(client, sender, sender_system, person)
    assert recall(client, *sender_system, message.message_uuid).status_code == 204
    assert release_due(today=VALUE_DATE) == 0
    message.refresh_from_db()
    assert message.state == Message.State.RECALLED
    assert not MailboxItem.objects.exists()


def test_an_accepted_message_whose_delivery_has_not_run_can_be_recalled(
    client, sender, sender_system, person
):
    # Without on_commit callbacks the delivery task never runs: the row stays PENDING.
    message = _sent(client, sender, sender_system, person, value_date=None)
    assert message.state == Message.State.ACCEPTED
    assert recall(client, *sender_system, message.message_uuid).status_code == 204
    assert Delivery.objects.get(message=message).state == Delivery.State.CANCELLED


def test_a_delivered_message_cannot_be_recalled(
    client, sender, sender_system, person, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = _sent(client, sender, sender_system, person, value_date=None)
    message.refresh_from_db()
    assert message.state == Message.State.DELIVERED
    before = send_rows()
    _refused(recall(client, *sender_system, message.message_uuid), 409, "ALREADY_DELIVERED")
    assert send_rows() == before
    message.refresh_from_db()
    assert (message.state, message.recalled_at) == (Message.State.DELIVERED, None)
    assert Delivery.objects.get(message=message).state == Delivery.State.DONE


def test_a_second_recall_is_refused(client, sender, sender_system, person):
    message = _sent(client, sender, sender_system, person)
    assert recall(client, *sender_system, message.message_uuid).status_code == 204
    message.refresh_from_db()
    recalled_at = message.recalled_at
    before = send_rows()
    _refused(recall(client, *sender_system, message.message_uuid), 409, "ALREADY_RECALLED")
    assert send_rows() == before
    message.refresh_from_db()
    assert message.recalled_at == recalled_at


def test_an_unknown_message_is_not_found(client, sender_system):
    before = send_rows()
    _refused(recall(client, *sender_system, uuid.uuid4()), 404, "MESSAGE_NOT_FOUND")
    assert send_rows() == before


def test_a_system_cannot_recall_another_organisations_message(client, sender, sender_system, person):
    message = _sent(client, sender, sender_system, person)
    stranger = make_system(OrganisationFactory())
    before = send_rows()
    _refused(recall(client, *stranger, message.message_uuid), 404, "MESSAGE_NOT_FOUND")
    assert send_rows() == before
    message.refresh_from_db()
    assert message.state == Message.State.HELD
    assert Delivery.objects.get(message=message).state == Delivery.State.HELD


def test_another_system_of_the_same_organisation_may_recall(client, sender, sender_system, person):
    message = _sent(client, sender, sender_system, person)
    colleague = make_system(sender, name="Andet afsendersystem")
    assert recall(client, *colleague, message.message_uuid).status_code == 204
    assert Event.objects.get(tag=Event.Tag.MEMO_MESSAGE_RECALLED).system == colleague[0]


def test_a_delegated_system_may_recall_what_it_sent_on_behalf(client, person):
    own, other = OrganisationFactory(), OrganisationFactory()
    system, token = make_system(own)
    system.send_on_behalf_of.add(other)
    message = _sent(client, other, (system, token), person)
    assert message.sender_organisation == other
    assert recall(client, system, token, message.message_uuid).status_code == 204


def test_the_same_uuid_from_two_organisations_recalls_only_ones_own(client, sender, sender_system, person):
    mine = _sent(client, sender, sender_system, person)
    other = OrganisationFactory()
    other_system = make_system(other)
    _, data = letter(
        sender_cvr=other.cvr, recipient_id=person.cpr, value_date=VALUE_DATE, message_uuid=mine.message_uuid
    )
    assert send(client, *other_system, data, mine.message_uuid).status_code == 201
    theirs = Message.objects.get(sender_organisation=other)
    assert recall(client, *sender_system, mine.message_uuid).status_code == 204
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert (mine.state, theirs.state) == (Message.State.RECALLED, Message.State.HELD)


def test_a_recipient_system_cannot_recall(client, sender, sender_system, person):
    message = _sent(client, sender, sender_system, person)
    recipient = make_system(sender, kind=System.Kind.RECIPIENT)
    before = send_rows()
    _refused(recall(client, *recipient, message.message_uuid), 403, "FORBIDDEN")
    assert send_rows() == before


def test_recall_needs_credentials(client, sender, sender_system, person):
    message = _sent(client, sender, sender_system, person)
    before = send_rows()
    _refused(client.delete(f"/apis/v1/memos/{message.message_uuid}"), 401, "UNAUTHORIZED")
    assert send_rows() == before
