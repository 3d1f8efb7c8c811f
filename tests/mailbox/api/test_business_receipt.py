"""POST /apis/v1/memos/{messageUUID}/receipt : a recipient system's business receipt."""

from __future__ import annotations

import uuid
from datetime import UTC, timedelta

import pytest
from django.utils import timezone

from adminaccess.models import Event, System
from mailbox.models import Delivery, Message, Receipt
from mailbox.push import PushOutcome
from tests.factories import PersonFactory, make_message, make_system, row_counts
from tests.mailbox.api.helpers import basic
from tests.mailbox.api.test_pull import MEMOS, mail, party, receipt_for

pytestmark = pytest.mark.django_db

RECEIVED = Event.Tag.BUSINESS_RECEIPT_RECEIVED_BY_RECIPIENT_SYSTEM


def post(client, headers, message_uuid, body, content_type="application/json"):
    return client.post(f"{MEMOS}{message_uuid}/receipt", data=body, content_type=content_type, **headers)


def everything():
    return row_counts(Delivery, Receipt, Event, Message)


@pytest.fixture
def town():
    return party()


@pytest.fixture
def county():
    return party()


def test_it_completes_the_delivery_and_queues_a_business_receipt_for_the_sender(
    client, django_capture_on_commit_callbacks, town, county
):
    message_uuid = mail(client, django_capture_on_commit_callbacks, town, county)
    message = Message.objects.get()

    response = receipt_for(client, county, message_uuid)

    assert response.status_code == 201
    receipt = Receipt.objects.get(kind=Receipt.Kind.BUSINESS)
    assert response.json() == {
        "transmissionId": str(message.transmission_id),
        "messageUUID": str(message_uuid),
        "messageId": None,
        "errorCode": "",
        "errorMessage": "",
        "timeStamp": receipt.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "receiptStatus": "COMPLETED",
    }
    assert (
        receipt.status,
        receipt.sender_system,
        receipt.organisation,
        receipt.message,
        receipt.message_uuid,
        receipt.in_queue,
    ) == (Receipt.Status.COMPLETED, town.sender, town.organisation, message, message_uuid, True)
    delivery = Delivery.objects.get()
    assert delivery.state == Delivery.State.DONE
    assert delivery.completed_at == receipt.created_at
    event = Event.objects.get(tag=RECEIVED)
    assert (event.message, event.system, event.organisation, event.details) == (
        message,
        county.recipient,
        town.organisation,
        {"receiptStatus": "COMPLETED", "errorCode": ""},
    )


def test_an_invalid_receipt_carries_its_error_to_the_sender(
    client, django_capture_on_commit_callbacks, town, county
):
    message_uuid = mail(client, django_capture_on_commit_callbacks, town, county)

    response = receipt_for(
        client, county, message_uuid, "INVALID", errorCode="CASE_UNKNOWN", errorMessage="No such case"
    )

    assert response.status_code == 201
    assert (response.json()["receiptStatus"], response.json()["errorCode"]) == ("INVALID", "CASE_UNKNOWN")
    receipt = Receipt.objects.get(kind=Receipt.Kind.BUSINESS)
    assert (receipt.status, receipt.error_code, receipt.error_message) == (
        "INVALID",
        "CASE_UNKNOWN",
        "No such case",
    )
    assert Delivery.objects.get().state == Delivery.State.DONE


def test_it_takes_status_for_receipt_status_and_a_matching_message_uuid(
    client, django_capture_on_commit_callbacks, town, county
):
    message_uuid = mail(client, django_capture_on_commit_callbacks, town, county)

    response = post(
        client,
        county.as_recipient,
        message_uuid,
        {"status": "COMPLETED", "messageUUID": str(message_uuid), "errorCode": None},
    )

    assert response.status_code == 201
    assert Receipt.objects.get(kind=Receipt.Kind.BUSINESS).status == "COMPLETED"


def test_a_second_receipt_is_refused_and_changes_nothing(
    client, django_capture_on_commit_callbacks, town, county
):
    message_uuid = mail(client, django_capture_on_commit_callbacks, town, county)
    assert receipt_for(client, county, message_uuid).status_code == 201
    completed_at = Delivery.objects.get().completed_at
    before = everything()

    response = receipt_for(client, county, message_uuid, "INVALID", errorCode="LATE")

    assert response.status_code == 409
    assert response.json() == {
        "code": "BUSINESS_RECEIPT_ALREADY_RECEIVED",
        "message": f"The business receipt for message {message_uuid} has already been received.",
        "fieldErrors": [],
    }
    assert everything() == before
    assert Delivery.objects.get().completed_at == completed_at
    assert Receipt.objects.get(kind=Receipt.Kind.BUSINESS).status == "COMPLETED"


@pytest.mark.parametrize(
    ("body", "content_type", "code", "fields"),
    [
        ("{not json", "application/json", "INVALID_JSON", []),
        ({"receiptStatus": "RECEIVED"}, "application/json", "INVALID_BUSINESS_RECEIPT", ["receiptStatus"]),
        ({"receiptStatus": "completed"}, "application/json", "INVALID_BUSINESS_RECEIPT", ["receiptStatus"]),
        ({}, "application/json", "INVALID_BUSINESS_RECEIPT", ["receiptStatus"]),
        (
            {"receiptStatus": "COMPLETED", "status": "INVALID"},
            "application/json",
            "INVALID_BUSINESS_RECEIPT",
            ["status"],
        ),
        (
            {"receiptStatus": "COMPLETED", "messageUUID": str(uuid.uuid4())},
            "application/json",
            "INVALID_BUSINESS_RECEIPT",
            ["messageUUID"],
        ),
        (
            {"receiptStatus": "INVALID", "errorCode": "X" * 65},
            "application/json",
            "INVALID_BUSINESS_RECEIPT",
            ["errorCode"],
        ),
        ('["COMPLETED"]', "application/json", "INVALID_BUSINESS_RECEIPT", ["non_field_errors"]),
    ],
    ids=[
        "not-json",
        "not-a-business-status",
        "lower-case",
        "no-status",
        "statuses-disagree",
        "other-message-uuid",
        "error-code-too-long",
        "not-an-object",
    ],
)
def test_it_refuses_a_body_that_is_not_a_business_receipt(
    client, django_capture_on_commit_callbacks, town, county, body, content_type, code, fields
):
    message_uuid = mail(client, django_capture_on_commit_callbacks, town, county)
    before = everything()

    response = post(client, county.as_recipient, message_uuid, body, content_type)

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert [e["field"] for e in response.json()["fieldErrors"]] == fields
    assert everything() == before
    assert Delivery.objects.get().state == Delivery.State.READY_FOR_FETCH


def test_a_body_that_is_not_json_at_all_is_unsupported(
    client, django_capture_on_commit_callbacks, town, county
):
    message_uuid = mail(client, django_capture_on_commit_callbacks, town, county)
    before = everything()

    response = post(client, county.as_recipient, message_uuid, "COMPLETED", "text/plain")

    assert response.status_code == 415
    assert response.json()["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert everything() == before


def test_another_organisations_system_cannot_receipt_the_message(
    client, django_capture_on_commit_callbacks, town, county
):
    message_uuid = mail(client, django_capture_on_commit_callbacks, town, county)
    stranger = party()
    archive, archive_token = make_system(county.organisation, kind=System.Kind.RECIPIENT, name="Archive")
    before = everything()

    for headers in (town.as_recipient, stranger.as_recipient, basic(archive, archive_token)):
        response = post(client, headers, message_uuid, {"receiptStatus": "COMPLETED"})

        assert response.status_code == 404
        assert response.json()["code"] == "MESSAGE_NOT_FOUND"
    assert everything() == before
    assert Delivery.objects.get().state == Delivery.State.READY_FOR_FETCH


def test_an_unknown_message_is_not_found(client, county):
    before = everything()

    response = receipt_for(client, county, uuid.uuid4())

    assert response.status_code == 404
    assert response.json()["code"] == "MESSAGE_NOT_FOUND"
    assert everything() == before


def test_a_message_not_yet_handed_over_cannot_be_receipted(
    client, django_capture_on_commit_callbacks, town, county
):
    message_uuid = mail(
        client,
        django_capture_on_commit_callbacks,
        town,
        county,
        value_date=timezone.localdate() + timedelta(days=1),
    )
    before = everything()

    response = receipt_for(client, county, message_uuid)

    assert response.status_code == 404
    assert everything() == before
    assert Delivery.objects.get().state == Delivery.State.HELD


def test_a_sender_system_cannot_post_a_business_receipt(
    client, django_capture_on_commit_callbacks, town, county
):
    message_uuid = mail(client, django_capture_on_commit_callbacks, town, county)
    before = everything()

    for headers in (town.as_sender, county.as_sender):
        response = post(client, headers, message_uuid, {"receiptStatus": "COMPLETED"})

        assert response.status_code == 403
        assert response.json()["code"] == "FORBIDDEN"
    assert everything() == before


def test_a_push_system_posts_its_receipt_after_the_push(
    client, django_capture_on_commit_callbacks, monkeypatch, town
):
    pushed = []

    def push_memo(*, system, message_uuid, memo_bytes):
        pushed.append(message_uuid)
        return PushOutcome(ok=True, permanent=False, status_code=200, error="", duration_ms=3)

    monkeypatch.setattr("mailbox.resend.push_memo", push_memo)
    county = party(protocol=System.Protocol.REST_PUSH, endpoint="https://county.example/memo")
    message_uuid = mail(client, django_capture_on_commit_callbacks, town, county)
    assert pushed == [str(message_uuid)]
    assert Delivery.objects.get().state == Delivery.State.READY_FOR_FETCH

    response = receipt_for(client, county, message_uuid)

    assert response.status_code == 201
    assert Delivery.objects.get().state == Delivery.State.DONE
    assert Receipt.objects.get(kind=Receipt.Kind.BUSINESS).sender_system == town.sender


def test_a_letter_a_person_wrote_is_receipted_without_a_sender_queue_to_fill(client, county):
    # A citizen writing to an authority from the mailbox: no sender system to tell.
    person = PersonFactory()
    message = make_message(
        sender=county.organisation,
        sender_organisation=None,
        sender_person=person,
        sender_id_type="CPR",
        sender_id=person.cpr,
        recipient_id_type="CVR",
        recipient_id=county.organisation.cvr,
        recipient_mailbox=None,
        recipient_organisation=county.organisation,
        recipient_system=county.recipient,
        channel=Message.Channel.RECIPIENT_SYSTEM,
    )
    Delivery.objects.create(
        message=message,
        channel=Message.Channel.RECIPIENT_SYSTEM,
        state=Delivery.State.READY_FOR_FETCH,
        recipient_system=county.recipient,
    )

    response = receipt_for(client, county, message.message_uuid)

    assert response.status_code == 201
    assert response.json()["transmissionId"] == str(message.transmission_id)
    assert Receipt.objects.count() == 0
    assert Delivery.objects.get().state == Delivery.State.DONE
    assert Event.objects.filter(tag=RECEIVED, message=message, system=county.recipient).count() == 1


def test_the_business_receipt_is_documented(client):
    schema = client.get("/apis/v1/schema/", HTTP_ACCEPT="application/json").json()

    operation = schema["paths"]["/apis/v1/memos/{message_uuid}/receipt"]["post"]
    assert operation["operationId"] == "sendBusinessReceipt"
    assert list(operation["requestBody"]["content"]) == ["application/json"]
    assert set(operation["responses"]) == {"201", "400", "401", "403", "404", "409", "415"}
