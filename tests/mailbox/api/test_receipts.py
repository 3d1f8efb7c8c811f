"""GET /apis/v1/receipts/ and /apis/v1/receipts/{id} : a sender system's receipt queue."""

from __future__ import annotations

import uuid
from datetime import UTC

import pytest

from adminaccess.models import System
from mailbox.models import Receipt
from tests.factories import make_system, row_counts
from tests.mailbox.api.helpers import basic
from tests.mailbox.api.test_pull import mail, party, receipt_for

pytestmark = pytest.mark.django_db

RECEIPTS = "/apis/v1/receipts/"


def answered(client, django_capture_on_commit_callbacks, frm, to, status="COMPLETED", **body) -> Receipt:
    """A message from ``frm`` to ``to`` that ``to`` has answered: one receipt in ``frm``'s queue."""
    message_uuid = mail(client, django_capture_on_commit_callbacks, frm, to)
    assert receipt_for(client, to, message_uuid, status, **body).status_code == 201
    return Receipt.objects.get(kind=Receipt.Kind.BUSINESS, message_uuid=message_uuid)


def stamp(value) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


@pytest.fixture
def town():
    return party()


@pytest.fixture
def county():
    return party()


def test_it_lists_the_receipts_in_this_systems_queue_oldest_first(
    client, django_capture_on_commit_callbacks, town, county
):
    receipts = [answered(client, django_capture_on_commit_callbacks, town, county) for _ in range(3)]

    response = client.get(RECEIPTS, **town.as_sender)

    assert response.status_code == 200
    assert response.json() == {
        "content": [str(r.receipt_id) for r in receipts],
        "number": 0,
        "size": 20,
        "totalElements": 3,
        "totalPages": 1,
    }


def test_receipts_answered_at_once_are_not_in_the_queue(
    client, django_capture_on_commit_callbacks, town, county
):
    mail(client, django_capture_on_commit_callbacks, town, county)

    assert Receipt.objects.filter(kind=Receipt.Kind.TECHNICAL).count() == 1
    assert client.get(RECEIPTS, **town.as_sender).json()["content"] == []


def test_it_pages_the_queue(client, django_capture_on_commit_callbacks, town, county):
    ids = [
        str(answered(client, django_capture_on_commit_callbacks, town, county).receipt_id) for _ in range(3)
    ]

    pages = [client.get(RECEIPTS, {"page": n, "size": 2}, **town.as_sender).json() for n in range(3)]

    assert [p["content"] for p in pages] == [ids[:2], ids[2:], []]
    assert {(p["size"], p["totalElements"], p["totalPages"]) for p in pages} == {(2, 3, 2)}


@pytest.mark.parametrize(("params", "field"), [({"size": "501"}, "size"), ({"page": "x"}, "page")])
def test_it_refuses_paging_out_of_bounds(client, town, params, field):
    response = client.get(RECEIPTS, params, **town.as_sender)

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_PAGING"
    assert [e["field"] for e in response.json()["fieldErrors"]] == [field]


def test_it_gets_a_receipt_with_its_kind_and_details(
    client, django_capture_on_commit_callbacks, town, county
):
    receipt = answered(
        client,
        django_capture_on_commit_callbacks,
        town,
        county,
        "INVALID",
        errorCode="E1",
        errorMessage="Nope",
    )

    response = client.get(f"{RECEIPTS}{receipt.receipt_id}", **town.as_sender)

    assert response.status_code == 200
    assert response.json() == {
        "transmissionId": str(receipt.transmission_id),
        "messageUUID": str(receipt.message_uuid),
        "messageId": None,
        "errorCode": "E1",
        "errorMessage": "Nope",
        "timeStamp": stamp(receipt.created_at),
        "receiptStatus": "INVALID",
        "kind": "BUSINESS",
        "details": {},
    }
    receipt.refresh_from_db()
    assert receipt.in_queue is True


def test_it_gets_a_batch_result_with_its_details(client, town):
    receipt = Receipt.objects.create(
        kind=Receipt.Kind.BATCH,
        sender_system=town.sender,
        organisation=town.organisation,
        status=Receipt.Status.RECEIVED,
        details={"accepted": 2, "refused": 1},
    )

    response = client.get(f"{RECEIPTS}{receipt.receipt_id}", **town.as_sender)

    assert response.status_code == 200
    assert (response.json()["kind"], response.json()["details"], response.json()["messageUUID"]) == (
        "BATCH",
        {"accepted": 2, "refused": 1},
        None,
    )


def test_delete_true_takes_the_receipt_out_of_the_queue(
    client, django_capture_on_commit_callbacks, town, county
):
    first = answered(client, django_capture_on_commit_callbacks, town, county)
    second = answered(client, django_capture_on_commit_callbacks, town, county)

    response = client.get(f"{RECEIPTS}{first.receipt_id}?delete=true", **town.as_sender)

    assert response.status_code == 200
    assert response.json()["messageUUID"] == str(first.message_uuid)
    first.refresh_from_db()
    assert first.in_queue is False
    assert client.get(RECEIPTS, **town.as_sender).json()["content"] == [str(second.receipt_id)]
    again = client.get(f"{RECEIPTS}{first.receipt_id}", **town.as_sender)
    assert again.status_code == 404
    assert again.json()["code"] == "RECEIPT_NOT_FOUND"


@pytest.mark.parametrize("delete", ["false", "False", "0"])
def test_without_delete_the_receipt_stays_in_the_queue(
    client, django_capture_on_commit_callbacks, town, county, delete
):
    receipt = answered(client, django_capture_on_commit_callbacks, town, county)

    response = client.get(f"{RECEIPTS}{receipt.receipt_id}", {"delete": delete}, **town.as_sender)

    assert response.status_code == 200
    receipt.refresh_from_db()
    assert receipt.in_queue is True


def test_delete_must_be_true_or_false(client, django_capture_on_commit_callbacks, town, county):
    receipt = answered(client, django_capture_on_commit_callbacks, town, county)

    response = client.get(f"{RECEIPTS}{receipt.receipt_id}?delete=please", **town.as_sender)

    assert response.status_code == 400
    assert response.json()["code"] == "INVALID_QUERY_PARAMETER"
    assert [(e["field"], e["rejectedValue"]) for e in response.json()["fieldErrors"]] == [
        ("delete", "please")
    ]
    receipt.refresh_from_db()
    assert receipt.in_queue is True


def test_another_systems_receipt_is_not_found_and_stays_in_its_queue(
    client, django_capture_on_commit_callbacks, town, county
):
    receipt = answered(client, django_capture_on_commit_callbacks, town, county)
    # Another sender system of the same organisation, and another organisation's.
    sibling, sibling_token = make_system(town.organisation, kind=System.Kind.SENDER, name="Sibling")
    before = row_counts(Receipt)

    for headers in (basic(sibling, sibling_token), county.as_sender):
        listed = client.get(RECEIPTS, **headers)
        got = client.get(f"{RECEIPTS}{receipt.receipt_id}?delete=true", **headers)

        assert listed.json()["content"] == []
        assert got.status_code == 404
        assert got.json() == {
            "code": "RECEIPT_NOT_FOUND",
            "message": f"No receipt {receipt.receipt_id} in this system's queue.",
            "fieldErrors": [],
        }
    receipt.refresh_from_db()
    assert receipt.in_queue is True
    assert row_counts(Receipt) == before


def test_an_unknown_receipt_is_not_found(client, town):
    response = client.get(f"{RECEIPTS}{uuid.uuid4()}", **town.as_sender)

    assert response.status_code == 404


def test_a_recipient_system_cannot_use_the_receipt_queue(
    client, django_capture_on_commit_callbacks, town, county
):
    receipt = answered(client, django_capture_on_commit_callbacks, town, county)

    listed = client.get(RECEIPTS, **town.as_recipient)
    got = client.get(f"{RECEIPTS}{receipt.receipt_id}?delete=true", **town.as_recipient)

    assert (listed.status_code, got.status_code) == (403, 403)
    assert listed.json()["code"] == got.json()["code"] == "FORBIDDEN"
    receipt.refresh_from_db()
    assert receipt.in_queue is True


def test_the_receipt_queue_needs_credentials(client):
    assert client.get(RECEIPTS).status_code == 401
    assert client.get(f"{RECEIPTS}{uuid.uuid4()}").status_code == 401


def test_the_receipt_queue_is_documented(client):
    schema = client.get("/apis/v1/schema/", HTTP_ACCEPT="application/json").json()

    listing = schema["paths"]["/apis/v1/receipts/"]["get"]
    one = schema["paths"]["/apis/v1/receipts/{receipt_id}"]["get"]
    assert (listing["operationId"], one["operationId"]) == ("listReceipts", "getReceipt")
    assert {p["name"] for p in one["parameters"]} == {"receipt_id", "delete"}
    assert set(one["responses"]) == {"200", "400", "401", "403", "404"}
    assert {"kind", "details", "receiptStatus"} <= set(
        schema["components"]["schemas"]["QueuedReceipt"]["properties"]
    )
