"""UUIDs in API paths are read in either case (RFC 4122), as the query parameter and the MeMo
are: the official examples write their messageUUID in upper case, and a recipient system
answers for a message by the UUID its MeMo carries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from mailbox.models import Message, Receipt
from tests.factories import OrganisationFactory, PersonFactory, make_system
from tests.mailbox.api.helpers import basic, letter, recall, send
from tests.mailbox.api.test_pull import MEMOS, mail, party, receipt_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def town():
    return party()


@pytest.fixture
def county():
    return party()


def test_a_recipient_system_fetches_and_answers_by_the_upper_case_uuid(
    client, django_capture_on_commit_callbacks, town, county
):
    message_uuid = mail(client, django_capture_on_commit_callbacks, town, county)
    upper = str(message_uuid).upper()

    fetched = client.get(f"{MEMOS}{upper}", **county.as_recipient)
    assert fetched.status_code == 200
    assert str(message_uuid).encode() in fetched.content.lower()

    answered = receipt_for(client, county, upper)
    assert answered.status_code == 201, answered.json()
    assert answered.json()["messageUUID"] == str(message_uuid)
    business = Receipt.objects.get(kind=Receipt.Kind.BUSINESS)
    assert business.message_uuid == message_uuid

    got = client.get(f"/apis/v1/receipts/{str(business.receipt_id).upper()}", **town.as_sender)
    assert got.status_code == 200, got.json()


def test_a_sender_recalls_by_the_upper_case_uuid_its_memo_carries(client):
    sender = OrganisationFactory()
    system, token = make_system(sender)
    person = PersonFactory()
    message_uuid, data = letter(
        sender_cvr=sender.cvr, recipient_id=person.cpr, value_date=timezone.localdate() + timedelta(days=2)
    )
    upper = str(message_uuid).upper()
    data = data.replace(str(message_uuid).encode(), upper.encode())
    assert send(client, system, token, data, upper).status_code == 201

    assert recall(client, system, token, upper).status_code == 204
    assert Message.objects.get(message_uuid=message_uuid).state == Message.State.RECALLED


@pytest.mark.parametrize("path", ["/apis/v1/memos/{}", "/apis/v1/receipts/{}"])
def test_an_unknown_upper_case_uuid_is_the_operations_own_404(client, path):
    system, token = make_system(OrganisationFactory())
    response = client.get(path.format("8C2EA15D-61FB-4BA9-9366-42F8B194C114"), **basic(system, token))
    assert response.status_code in (403, 404)
    assert "No API operation" not in response.json()["message"]
