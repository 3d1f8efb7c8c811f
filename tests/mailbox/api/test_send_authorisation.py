"""Who may send as whom, and what: sender organisation, system kind, legal notification, mandatory."""

from __future__ import annotations

import pytest

from adminaccess.models import Event, System
from mailbox.models import Message, Receipt
from tests.factories import CompanyFactory, OrganisationFactory, PersonFactory, make_system
from tests.mailbox.api.helpers import letter, send, send_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def own():
    return OrganisationFactory(name="Kommune A")


@pytest.fixture
def other():
    return OrganisationFactory(name="Kommune B")


@pytest.fixture
def person():
    return PersonFactory()


def _refused(response, status: int, code: str) -> dict:
    body = response.json()
    assert (response.status_code, body["code"]) == (status, code), body
    return body


def test_a_system_cannot_send_as_another_organisation(client, own, other, person):
    system, token = make_system(own)
    message_uuid, data = letter(sender_cvr=other.cvr, recipient_id=person.cpr)
    before = send_rows()
    body = _refused(send(client, system, token, data, message_uuid), 403, "SENDER_NOT_ALLOWED")
    assert body["fieldErrors"] == [
        {
            "resource": "memo",
            "field": "/Message/MessageHeader/Sender/senderID",
            "code": "SENDER_NOT_ALLOWED",
            "message": "Not this system's organisation.",
            "rejectedValue": other.cvr,
        }
    ]
    assert send_rows() == before


def test_a_system_may_send_for_an_organisation_that_delegated_sending_to_it(client, own, other, person):
    system, token = make_system(own)
    system.send_on_behalf_of.add(other)
    message_uuid, data = letter(sender_cvr=other.cvr, recipient_id=person.cpr)
    response = send(client, system, token, data, message_uuid)
    assert (response.status_code, response.json()["receiptStatus"]) == (201, "RECEIVED")
    message = Message.objects.get()
    assert (message.sender_organisation, message.sender_system) == (other, system)
    assert Receipt.objects.get().organisation == other


def test_delegation_is_per_system(client, own, other, person):
    delegated, _ = make_system(own, name="Fælles sagssystem")
    delegated.send_on_behalf_of.add(other)
    system, token = make_system(own, name="Andet system")
    message_uuid, data = letter(sender_cvr=other.cvr, recipient_id=person.cpr)
    before = send_rows()
    _refused(send(client, system, token, data, message_uuid), 403, "SENDER_NOT_ALLOWED")
    assert send_rows() == before


def test_a_system_cannot_send_as_a_person(client, own, person):
    system, token = make_system(own)
    message_uuid, data = letter(sender_cvr=person.cpr, recipient_id=own.cvr, recipient_type="CVR")
    sender_type = b"<memo:idType>CVR</memo:idType><memo:label>Afsender"
    data = data.replace(sender_type, sender_type.replace(b"CVR", b"CPR"))
    assert b"<memo:idType>CPR</memo:idType><memo:label>Afsender" in data
    before = send_rows()
    _refused(send(client, system, token, data, message_uuid), 403, "SENDER_NOT_ALLOWED")
    assert send_rows() == before


def test_a_recipient_system_cannot_send(client, own, person):
    system, token = make_system(own, kind=System.Kind.RECIPIENT)
    message_uuid, data = letter(sender_cvr=own.cvr, recipient_id=person.cpr)
    before = send_rows()
    _refused(send(client, system, token, data, message_uuid), 403, "FORBIDDEN")
    assert send_rows() == before


@pytest.mark.parametrize(
    ("flag", "code"),
    [("legal_notification", "LEGAL_NOTIFICATION_NOT_ALLOWED"), ("mandatory", "MANDATORY_NOT_ALLOWED")],
)
def test_legal_notification_and_mandatory_post_need_the_organisations_power(client, person, flag, code):
    sender = OrganisationFactory()
    system, token = make_system(sender)
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=person.cpr, **{flag: True})
    before = send_rows()
    _refused(send(client, system, token, data, message_uuid), 403, code)
    assert send_rows() == before


@pytest.mark.parametrize(
    ("flag", "power"),
    [("legal_notification", "may_send_legal_notification"), ("mandatory", "may_send_mandatory_post")],
)
def test_an_organisation_with_the_power_may_send_it(client, person, flag, power):
    sender = OrganisationFactory(**{power: True})
    system, token = make_system(sender)
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=person.cpr, **{flag: True})
    response = send(client, system, token, data, message_uuid)
    assert (response.status_code, response.json()["receiptStatus"]) == (201, "RECEIVED")
    assert getattr(Message.objects.get(), flag) is True


def test_the_power_is_the_sending_organisations_not_the_systems_owner(client, other, person):
    own = OrganisationFactory(may_send_legal_notification=True, may_send_mandatory_post=True)
    system, token = make_system(own)
    system.send_on_behalf_of.add(other)
    refusals = [
        ("legal_notification", "LEGAL_NOTIFICATION_NOT_ALLOWED"),
        ("mandatory", "MANDATORY_NOT_ALLOWED"),
    ]
    for flag, code in refusals:
        message_uuid, data = letter(sender_cvr=other.cvr, recipient_id=person.cpr, **{flag: True})
        before = send_rows()
        _refused(send(client, system, token, data, message_uuid), 403, code)
        assert send_rows() == before


@pytest.fixture
def company_system():
    company = CompanyFactory(name="Firma ApS")
    return company, *make_system(company)


def _company_sends(client, company_system, recipient_id, recipient_type):
    company, system, token = company_system
    message_uuid, data = letter(
        sender_cvr=company.cvr, recipient_id=recipient_id, recipient_type=recipient_type
    )
    return send(client, system, token, data, message_uuid)


@pytest.mark.parametrize("recipient", ["citizen", "company"])
def test_a_companys_sender_system_may_not_send_to_citizens_or_companies(
    client, company_system, person, recipient
):
    if recipient == "citizen":
        recipient_id, recipient_type = person.cpr, "CPR"
    else:
        recipient_id, recipient_type = CompanyFactory().cvr, "CVR"
    before = send_rows()
    response = _company_sends(client, company_system, recipient_id, recipient_type)
    assert response.status_code == 201
    assert (response.json()["receiptStatus"], response.json()["errorCode"]) == (
        "NOT_ALLOWED",
        "COMPANIES_SEND_ONLY_TO_AUTHORITIES",
    )
    assert send_rows() == {**before, "Receipt": before["Receipt"] + 1, "Event": before["Event"] + 1}
    event = Event.objects.get(tag=Event.Tag.MEMO_SEND_NOT_ALLOWED)
    assert (event.organisation, event.subject) == (company_system[0], recipient_id)


def test_a_companys_sender_system_may_send_to_an_authority(client, company_system, other):
    default, _ = make_system(other, kind=System.Kind.RECIPIENT, is_default=True)
    response = _company_sends(client, company_system, other.cvr, "CVR")
    assert (response.status_code, response.json()["receiptStatus"]) == (201, "RECEIVED")
    message = Message.objects.get()
    assert (message.sender_organisation, message.recipient_system) == (company_system[0], default)


def test_a_company_cannot_send_mandatory_post(client, company_system, other):
    make_system(other, kind=System.Kind.RECIPIENT, is_default=True)
    company, system, token = company_system
    message_uuid, data = letter(
        sender_cvr=company.cvr, recipient_id=other.cvr, recipient_type="CVR", mandatory=True
    )
    before = send_rows()
    _refused(send(client, system, token, data, message_uuid), 403, "MANDATORY_NOT_ALLOWED")
    assert send_rows() == before
