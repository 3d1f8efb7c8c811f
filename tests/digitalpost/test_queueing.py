"""A broker outage never fails the request that accepted the work; the sweep delivers it later."""

from unittest import mock

import pytest
from kombu.exceptions import OperationalError

from digitalpost.queueing import enqueue
from mailbox.models import Delivery, MailboxItem, Message
from mailbox.tasks import deliver, sweep_deliveries
from tests.factories import OrganisationFactory, PersonFactory, make_system
from tests.mailbox.api.helpers import letter, send

pytestmark = pytest.mark.django_db


def test_enqueue_reports_a_broker_it_cannot_reach_instead_of_raising():
    with mock.patch.object(deliver, "apply_async", side_effect=OperationalError("connection refused")):
        assert enqueue(deliver, 1) is False


def test_a_message_accepted_while_the_broker_is_down_is_answered_201_and_delivered_by_the_sweep(
    client, django_capture_on_commit_callbacks
):
    sender, person = OrganisationFactory(), PersonFactory()
    system, token = make_system(sender)
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=person.cpr)
    with (
        mock.patch.object(deliver, "apply_async", side_effect=OperationalError("connection refused")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = send(client, system, token, data, message_uuid)
    assert response.status_code == 201
    message = Message.objects.get(message_uuid=message_uuid)
    assert Delivery.objects.get(message=message).state == Delivery.State.PENDING
    assert not MailboxItem.objects.filter(message=message).exists()
    # The broker is back; beat's sweep finds the row the lost task should have handled.
    assert sweep_deliveries() == 1
    assert sweep_deliveries() == 0
    assert MailboxItem.objects.filter(message=message).count() == 1
