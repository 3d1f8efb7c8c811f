"""GET /apis/v1/memos/{messageUUID} : a recipient system fetches a MeMo in its MeMo version."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from lxml import etree

from adminaccess.models import Event, System
from mailbox.models import Delivery, Message, Receipt
from memo import model as m
from memo import parse, serialize, validate
from memo.convert import convert
from tests.factories import make_system, row_counts
from tests.mailbox.api.helpers import basic, letter
from tests.mailbox.api.test_pull import MEMOS, documents_memos_paths, mail, party, receipt_for
from tests.memo.conftest import memo_reference  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db

OFFICIAL_CORE = {"1.1": Path("xsd") / "MeMo_core.xsd", "1.2": Path("xsd") / "Version1.2" / "MeMo_core.xsd"}
FETCHED = Event.Tag.MEMO_SEND_FETCHED_BY_RECIPIENT_SYSTEM


@pytest.fixture
def reference(request) -> Path:
    """The official MeMo material; the test skips, saying why, where it is absent."""
    return request.getfixturevalue("memo_reference")


def official_errors(reference: Path, version: str, data: bytes) -> list[str]:
    schema = etree.XMLSchema(etree.parse(str(reference / OFFICIAL_CORE[version])))
    schema.validate(etree.fromstring(data))
    return [e.message for e in schema.error_log]


def memo_bytes(frm, to, *, version: str = "1.2", representative: bool = False) -> bytes:
    """A letter from ``frm`` to ``to`` written as MeMo ``version``."""
    _, data = letter(sender_cvr=frm.organisation.cvr, recipient_id=to.organisation.cvr, recipient_type="CVR")
    message = parse(data)
    if representative:
        message.header.sender.representative = m.Representative(
            representative_id="12345678", id_type="CVR", label="Advokatfirmaet"
        )
    return serialize(convert(message, version))


def fetch(client, to, message_uuid, **extra):
    return client.get(f"{MEMOS}{message_uuid}", **to.as_recipient, **extra)


@pytest.fixture
def town():
    return party()


@pytest.fixture
def county():
    return party()


def test_it_serves_the_stored_bytes_as_they_are_when_the_versions_match(
    client, django_capture_on_commit_callbacks, town, county
):
    data = memo_bytes(town, county, representative=True)
    message_uuid = mail(client, django_capture_on_commit_callbacks, town, county, data=data)

    response = fetch(client, county, message_uuid)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml"
    assert response.content == data


def test_it_converts_a_1_2_message_for_a_1_1_system(
    client, django_capture_on_commit_callbacks, reference, town
):
    county = party(memo_version="1.1")
    data = memo_bytes(town, county, representative=True)
    message_uuid = mail(client, django_capture_on_commit_callbacks, town, county, data=data)

    response = fetch(client, county, message_uuid)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/xml"
    served = parse(response.content)
    assert (served.memo_version, served.memo_sch_version) == ("1.1", "1.1.0")
    assert (served.header.mandatory, served.header.legal_notification) == (False, False)
    assert served.header.sender.representative is None
    assert served.header.message_uuid == message_uuid
    assert served.body == parse(data).body
    assert validate(response.content).errors == []
    assert official_errors(reference, "1.1", response.content) == []
    # The stored message is what the sender sent.
    assert Message.objects.get().memo_version == "1.2"


def test_it_converts_a_1_1_message_for_a_1_2_system(
    client, django_capture_on_commit_callbacks, reference, town, county
):
    data = memo_bytes(town, county, version="1.1")
    message_uuid = mail(client, django_capture_on_commit_callbacks, town, county, data=data)

    response = fetch(client, county, message_uuid)

    assert response.status_code == 200
    served = parse(response.content)
    assert (served.memo_version, served.memo_sch_version) == ("1.2", None)
    assert served.header == parse(data).header
    assert validate(response.content).errors == []
    assert official_errors(reference, "1.2", response.content) == []
    assert Message.objects.get().memo_version == "1.1"


def test_it_answers_a_client_that_accepts_only_xml(client, django_capture_on_commit_callbacks, town, county):
    message_uuid = mail(client, django_capture_on_commit_callbacks, town, county)

    found = fetch(client, county, message_uuid, HTTP_ACCEPT="application/xml")
    missing = fetch(client, county, uuid.uuid4(), HTTP_ACCEPT="application/xml")

    assert found.status_code == 200
    assert found["Content-Type"] == "application/xml"
    assert missing.status_code == 404
    assert missing.json()["code"] == "MESSAGE_NOT_FOUND"


def test_the_first_fetch_is_logged_once(client, django_capture_on_commit_callbacks, town, county):
    message_uuid = mail(client, django_capture_on_commit_callbacks, town, county)

    assert [fetch(client, county, message_uuid).status_code for _ in range(3)] == [200, 200, 200]

    event = Event.objects.get(tag=FETCHED)
    message = Message.objects.get()
    assert (event.message, event.message_uuid, event.system, event.organisation) == (
        message,
        message_uuid,
        county.recipient,
        town.organisation,
    )
    assert event.details == {"memoVersion": "1.2"}


def test_fetching_changes_no_state(client, django_capture_on_commit_callbacks, town, county):
    message_uuid = mail(client, django_capture_on_commit_callbacks, town, county)

    fetch(client, county, message_uuid)

    delivery = Delivery.objects.get()
    assert (delivery.state, delivery.completed_at) == (Delivery.State.READY_FOR_FETCH, None)
    assert Receipt.objects.filter(kind=Receipt.Kind.BUSINESS).count() == 0


def test_it_can_still_fetch_after_the_business_receipt(
    client, django_capture_on_commit_callbacks, town, county
):
    message_uuid = mail(client, django_capture_on_commit_callbacks, town, county)
    assert receipt_for(client, county, message_uuid).status_code == 201

    response = fetch(client, county, message_uuid)

    assert response.status_code == 200
    assert parse(response.content).header.message_uuid == message_uuid


def test_another_organisations_system_cannot_fetch_the_message(
    client, django_capture_on_commit_callbacks, town, county
):
    message_uuid = mail(client, django_capture_on_commit_callbacks, town, county)
    stranger = party()
    before = row_counts(Event, Delivery, Receipt)

    # The sending organisation's own recipient system, and a stranger's.
    for outsider in (town, stranger):
        response = fetch(client, outsider, message_uuid)

        assert response.status_code == 404
        assert response.json() == {
            "code": "MESSAGE_NOT_FOUND",
            "message": f"No message {message_uuid} for this system.",
            "fieldErrors": [],
        }
    assert row_counts(Event, Delivery, Receipt) == before


def test_another_recipient_system_of_the_same_organisation_cannot_fetch_the_message(
    client, django_capture_on_commit_callbacks, town, county
):
    message_uuid = mail(client, django_capture_on_commit_callbacks, town, county)
    archive, token = make_system(county.organisation, kind=System.Kind.RECIPIENT, name="Archive")

    response = client.get(f"{MEMOS}{message_uuid}", **basic(archive, token))

    assert response.status_code == 404
    assert not Event.objects.filter(tag=FETCHED).exists()


def test_an_unknown_message_is_not_found(client, county):
    response = fetch(client, county, uuid.uuid4())

    assert response.status_code == 404
    assert response.json()["code"] == "MESSAGE_NOT_FOUND"


def test_a_message_waiting_for_its_value_date_is_not_found(
    client, django_capture_on_commit_callbacks, town, county
):
    message_uuid = mail(
        client,
        django_capture_on_commit_callbacks,
        town,
        county,
        value_date=timezone.localdate() + timedelta(days=2),
    )

    response = fetch(client, county, message_uuid)

    assert response.status_code == 404
    assert not Event.objects.filter(tag=FETCHED).exists()


def test_a_sender_system_cannot_fetch_even_its_own_message(
    client, django_capture_on_commit_callbacks, town, county
):
    message_uuid = mail(client, django_capture_on_commit_callbacks, town, county)

    response = client.get(f"{MEMOS}{message_uuid}", **town.as_sender)

    assert response.status_code == 403
    assert response.json()["code"] == "FORBIDDEN"
    assert not Event.objects.filter(tag=FETCHED).exists()


@documents_memos_paths
def test_the_fetch_is_documented_as_xml(client):
    schema = client.get("/apis/v1/schema/", HTTP_ACCEPT="application/json").json()

    operation = schema["paths"]["/apis/v1/memos/{message_uuid}"]["get"]
    assert operation["operationId"] == "fetchMemo"
    assert list(operation["responses"]["200"]["content"]) == ["application/xml"]
    assert set(operation["responses"]) == {"200", "401", "403", "404"}
