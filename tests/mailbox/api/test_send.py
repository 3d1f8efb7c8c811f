"""POST /apis/v1/memos/ with one MeMo: the receipt, every refusal, idempotency, routing, value date."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.test import override_settings
from django.utils import timezone

from adminaccess.models import Event, System
from contactstructure.models import RoutingRule
from mailbox.models import Delivery, MailboxItem, Message, Receipt
from mailbox.resend import recipient_system_deactivate
from tests.factories import (
    CompanyFactory,
    OrganisationFactory,
    PersonFactory,
    make_contact_point,
    make_exemption,
    make_system,
)
from tests.mailbox.api.helpers import basic, letter, send, send_rows

pytestmark = pytest.mark.django_db

RECEIPT_FIELDS = {
    "transmissionId",
    "messageUUID",
    "messageId",
    "errorCode",
    "errorMessage",
    "timeStamp",
    "receiptStatus",
}


@pytest.fixture
def sender():
    return OrganisationFactory(name="Kommunen")


@pytest.fixture
def sender_system(sender):
    return make_system(sender)


@pytest.fixture
def person():
    return PersonFactory()


def _post(client, sender_system, data, message_uuid, **kwargs):
    system, token = sender_system
    return send(client, system, token, data, message_uuid, **kwargs)


def _letter_to(person, sender, **kwargs):
    return letter(sender_cvr=sender.cvr, recipient_id=person.cpr, **kwargs)


def _refused(response, status: int, code: str) -> dict:
    body = response.json()
    assert response.status_code == status, body
    assert body["code"] == code, body
    assert set(body) == {"code", "message", "fieldErrors"}
    return body


# --- The receipt ---------------------------------------------------------------------------


def test_it_answers_201_with_a_received_receipt(client, sender, sender_system, person):
    message_uuid, data = _letter_to(person, sender)
    response = _post(client, sender_system, data, message_uuid)
    assert response.status_code == 201, response.json()
    body = response.json()
    message = Message.objects.get()
    receipt = Receipt.objects.get()
    assert set(body) == RECEIPT_FIELDS
    assert body["receiptStatus"] == "RECEIVED"
    assert body["messageUUID"] == str(message_uuid)
    assert body["transmissionId"] == str(message.transmission_id) == str(receipt.transmission_id)
    assert body["messageId"] is None
    assert (body["errorCode"], body["errorMessage"]) == ("", "")
    assert body["timeStamp"].endswith("Z")
    stamp = datetime.fromisoformat(body["timeStamp"].replace("Z", "+00:00"))
    assert stamp == receipt.created_at
    assert stamp.utcoffset() == timedelta(0)
    assert (receipt.kind, receipt.status, receipt.message, receipt.in_queue) == (
        Receipt.Kind.TECHNICAL,
        Receipt.Status.RECEIVED,
        message,
        False,
    )
    assert (message.sender_organisation, message.sender_system) == (sender, sender_system[0])
    assert (message.recipient_mailbox, message.channel) == (person.mailbox, Message.Channel.MAILBOX)
    event = Event.objects.get(tag=Event.Tag.MEMO_SEND_VALIDATED)
    assert (event.message, event.system, event.subject) == (message, sender_system[0], person.cpr)


def test_the_receipt_carries_the_messages_message_id(client, sender, sender_system, person):
    message_uuid, data = _letter_to(person, sender)
    label = b"<memo:label>Brev fra kommunen"
    data = data.replace(label, b"<memo:messageID>J-2026-17</memo:messageID>" + label, 1)
    response = _post(client, sender_system, data, message_uuid)
    assert response.status_code == 201, response.json()
    assert response.json()["messageId"] == "J-2026-17"


@pytest.mark.parametrize(
    "content_type",
    ["application/xml", "text/xml", "text/xml; charset=utf-8", "application/xml; charset=UTF-8", "Text/XML"],
)
def test_it_takes_xml_content_types(client, sender, sender_system, person, content_type):
    message_uuid, data = _letter_to(person, sender)
    response = _post(client, sender_system, data, message_uuid, content_type=content_type)
    assert response.status_code == 201, response.json()
    assert response.json()["receiptStatus"] == "RECEIVED"
    assert Message.objects.count() == 1


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", "application/octet-stream"])
def test_it_refuses_other_content_types_with_415(client, sender, sender_system, person, content_type):
    message_uuid, data = _letter_to(person, sender)
    before = send_rows()
    response = _post(client, sender_system, data, message_uuid, content_type=content_type)
    _refused(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert send_rows() == before


def test_it_requires_the_memo_message_uuid_parameter(client, sender, sender_system, person):
    system, token = sender_system
    _, data = _letter_to(person, sender)
    before = send_rows()
    response = client.post(
        "/apis/v1/memos/", data=data, content_type="application/xml", **basic(system, token)
    )
    _refused(response, 400, "MESSAGE_UUID_MISSING")
    assert send_rows() == before


def test_the_memo_message_uuid_may_be_written_in_capitals(client, sender, sender_system, person):
    message_uuid, data = _letter_to(person, sender)
    response = _post(client, sender_system, data, str(message_uuid).upper())
    assert response.status_code == 201, response.json()
    assert response.json()["messageUUID"] == str(message_uuid)


@pytest.mark.parametrize("query", [str(uuid.uuid4()), "not-a-uuid"], ids=["another-uuid", "not-a-uuid"])
def test_it_refuses_a_memo_message_uuid_that_is_not_the_memos(client, sender, sender_system, person, query):
    _, data = _letter_to(person, sender)
    before = send_rows()
    response = _post(client, sender_system, data, query)
    _refused(response, 400, "MESSAGE_UUID_MISMATCH")
    assert send_rows() == before


def test_an_invalid_memo_gets_one_field_error_per_problem(client, sender, sender_system, person):
    message_uuid, data = _letter_to(person, sender)
    data = (
        data.replace(b"<memo:mandatory>false<", b"<memo:mandatory>maybe<")
        .replace(b"<memo:encodingFormat>text/plain<", b"<memo:encodingFormat>nonsense<")
        .replace(b"<memo:content>SGVq<", b"<memo:content>!!!<")
    )
    before = send_rows()
    response = _post(client, sender_system, data, message_uuid)
    body = _refused(response, 400, "MEMO_INVALID")
    assert body["message"] == "The MeMo message is not valid (3 errors)."
    assert [(e["resource"], e["field"], e["code"], e["rejectedValue"]) for e in body["fieldErrors"]] == [
        ("memo", "/Message/MessageHeader/mandatory", "schema.invalid-datatype", None),
        (
            "memo",
            "/Message/MessageBody/MainDocument/File/encodingFormat",
            "rules.mime-type-not-allowed",
            None,
        ),
        ("memo", "/Message/MessageBody/MainDocument/File/content", "rules.content-not-base64", None),
    ]
    assert all(e["message"] for e in body["fieldErrors"])
    assert send_rows() == before


@pytest.mark.parametrize(
    ("data", "error_code"),
    [
        (b"not xml at all", "xml.malformed"),
        (b"<memo:Message><memo:MessageHeader></memo:Message>", "xml.malformed"),
        (b"", "xml.empty"),
        (
            b'<?xml version="1.0"?><!DOCTYPE m [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            b'<memo:Message xmlns:memo="https://DigitalPost.dk/MeMo-1">&x;</memo:Message>',
            "xml.doctype-forbidden",
        ),
        (
            b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;">]>'
            b"<lolz>&lol2;</lolz>",
            "xml.doctype-forbidden",
        ),
    ],
    ids=["text", "malformed", "empty", "xxe", "entity-expansion"],
)
def test_unreadable_or_hostile_xml_is_refused(client, sender, sender_system, data, error_code):
    message_uuid = uuid.uuid4()
    before = send_rows()
    # The test client leaves out Content-Type for an empty body; a real client sends it.
    response = _post(client, sender_system, data, message_uuid, CONTENT_TYPE="application/xml")
    body = _refused(response, 400, "MEMO_UNREADABLE")
    assert [(e["field"], e["code"]) for e in body["fieldErrors"]] == [("/", error_code)]
    assert send_rows() == before


def test_a_body_over_the_limit_is_refused_with_413(client, sender, sender_system, person):
    message_uuid, data = _letter_to(person, sender)
    before = send_rows()
    with override_settings(DIGITALPOST_MAX_MEMO_BYTES=len(data) - 1):
        response = _post(client, sender_system, data, message_uuid)
    _refused(response, 413, "PAYLOAD_TOO_LARGE")
    assert send_rows() == before
    with override_settings(DIGITALPOST_MAX_MEMO_BYTES=len(data)):
        assert _post(client, sender_system, data, message_uuid).status_code == 201


def test_a_message_that_cannot_be_delivered_stores_one_not_allowed_receipt(client, sender, sender_system):
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id="0101011234")
    before = send_rows()
    response = _post(client, sender_system, data, message_uuid)
    assert response.status_code == 201
    body = response.json()
    assert (body["receiptStatus"], body["errorCode"], body["messageUUID"]) == (
        "NOT_ALLOWED",
        "RECIPIENT_NOT_FOUND",
        str(message_uuid),
    )
    assert body["errorMessage"]
    assert send_rows() == {**before, "Receipt": before["Receipt"] + 1, "Event": before["Event"] + 1}
    receipt = Receipt.objects.get()
    assert (receipt.status, receipt.error_code, receipt.message, receipt.in_queue) == (
        Receipt.Status.NOT_ALLOWED,
        "RECIPIENT_NOT_FOUND",
        None,
        False,
    )
    assert str(receipt.transmission_id) == body["transmissionId"]
    event = Event.objects.get(tag=Event.Tag.MEMO_SEND_NOT_ALLOWED)
    assert (event.tag, event.message_uuid, event.subject, event.details["code"]) == (
        Event.Tag.MEMO_SEND_NOT_ALLOWED,
        message_uuid,
        "0101011234",
        "RECIPIENT_NOT_FOUND",
    )


# --- Idempotency ---------------------------------------------------------------------------


def test_the_same_message_twice_gets_the_same_receipt(
    client, sender, sender_system, person, django_capture_on_commit_callbacks
):
    message_uuid, data = _letter_to(person, sender)
    with django_capture_on_commit_callbacks(execute=True):
        first = _post(client, sender_system, data, message_uuid)
    after_first = send_rows()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        second = _post(client, sender_system, data, message_uuid)
    assert callbacks == []
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert send_rows() == after_first
    assert {k: v for k, v in after_first.items() if k != "Event"} == {
        "Message": 1,
        "Receipt": 1,
        "Delivery": 1,
        "MailboxItem": 1,
    }


def test_a_resend_wakes_the_delivery_whose_wake_up_was_lost(
    client, sender, sender_system, person, django_capture_on_commit_callbacks, monkeypatch
):
    message_uuid, data = _letter_to(person, sender)
    with monkeypatch.context() as lost:
        # The first answer went with its connection, and the wake-up with it.
        lost.setattr("mailbox.sending.wake_up_after_commit", lambda *args: None)
        with django_capture_on_commit_callbacks(execute=True):
            first = _post(client, sender_system, data, message_uuid)
    assert Delivery.objects.get().state == Delivery.State.PENDING
    assert not MailboxItem.objects.exists()
    with django_capture_on_commit_callbacks(execute=True):
        second = _post(client, sender_system, data, message_uuid)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert Delivery.objects.get().state == Delivery.State.DONE
    assert MailboxItem.objects.get().mailbox == person.mailbox


def test_a_different_message_with_a_used_uuid_is_refused_with_409(client, sender, sender_system, person):
    message_uuid, data = _letter_to(person, sender)
    assert _post(client, sender_system, data, message_uuid).status_code == 201
    _, other = _letter_to(person, sender, message_uuid=message_uuid, label="Et andet brev")
    before = send_rows()
    response = _post(client, sender_system, other, message_uuid)
    _refused(response, 409, "MESSAGE_UUID_ALREADY_USED")
    assert send_rows() == before
    assert Message.objects.get().label == "Brev fra kommunen"


def test_another_organisation_may_use_the_same_message_uuid(client, sender, sender_system, person):
    other = OrganisationFactory()
    message_uuid, data = _letter_to(person, sender)
    _, other_data = _letter_to(person, other, message_uuid=message_uuid)
    first = _post(client, sender_system, data, message_uuid)
    second = _post(client, make_system(other), other_data, message_uuid)
    assert (first.status_code, second.status_code) == (201, 201)
    assert (first.json()["receiptStatus"], second.json()["receiptStatus"]) == ("RECEIVED", "RECEIVED")
    assert first.json()["transmissionId"] != second.json()["transmissionId"]
    assert sorted(Message.objects.values_list("sender_organisation__cvr", flat=True)) == sorted(
        [sender.cvr, other.cvr]
    )


# --- Where the message goes ----------------------------------------------------------------


def _sent(client, sender_system, data, message_uuid) -> Message:
    response = _post(client, sender_system, data, message_uuid)
    assert response.status_code == 201, response.json()
    assert response.json()["receiptStatus"] == "RECEIVED", response.json()
    return Message.objects.get(message_uuid=message_uuid)


def _not_allowed(client, sender_system, data, message_uuid, code: str) -> None:
    before = send_rows()
    response = _post(client, sender_system, data, message_uuid)
    assert response.status_code == 201
    assert (response.json()["receiptStatus"], response.json()["errorCode"]) == ("NOT_ALLOWED", code)
    assert send_rows() == {**before, "Receipt": before["Receipt"] + 1, "Event": before["Event"] + 1}
    assert Event.objects.filter(tag=Event.Tag.MEMO_SEND_NOT_ALLOWED, details__code=code).count() == 1


def test_a_letter_to_a_cpr_lands_in_the_citizens_inbox(
    client, sender, sender_system, person, django_capture_on_commit_callbacks
):
    message_uuid, data = _letter_to(person, sender)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message = _sent(client, sender_system, data, message_uuid)
        assert not MailboxItem.objects.exists()
    assert len(callbacks) == 2  # the delivery task, then the one that indexes its text for search
    message.refresh_from_db()
    item = MailboxItem.objects.get()
    assert (item.message, item.mailbox, item.folder.kind) == (message, person.mailbox, "INBOX")
    assert message.state == Message.State.DELIVERED
    assert Delivery.objects.get(message=message).state == Delivery.State.DONE
    assert Event.objects.filter(message=message, tag=Event.Tag.MEMO_SEND_DELIVERED_TO_MAILBOX).count() == 1


def test_a_letter_to_a_company_lands_in_the_company_mailbox(
    client, sender, sender_system, django_capture_on_commit_callbacks
):
    company = CompanyFactory()
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=company.cvr, recipient_type="CVR")
    with django_capture_on_commit_callbacks(execute=True):
        message = _sent(client, sender_system, data, message_uuid)
    message.refresh_from_db()
    assert (message.channel, message.recipient_mailbox, message.state) == (
        Message.Channel.MAILBOX,
        company.mailbox,
        Message.State.DELIVERED,
    )
    assert MailboxItem.objects.get().mailbox == company.mailbox


def test_a_company_with_a_default_recipient_system_gets_its_mail_there(client, sender, sender_system):
    company = CompanyFactory()
    company_system, _ = make_system(company, kind=System.Kind.RECIPIENT, is_default=True)
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=company.cvr, recipient_type="CVR")
    message = _sent(client, sender_system, data, message_uuid)
    assert (message.channel, message.recipient_system, message.recipient_organisation) == (
        Message.Channel.RECIPIENT_SYSTEM,
        company_system,
        company,
    )
    assert Delivery.objects.get(message=message).recipient_system == company_system


@pytest.fixture
def authority():
    return OrganisationFactory(name="Styrelsen")


@pytest.fixture
def default_system(authority):
    return make_system(authority, kind=System.Kind.RECIPIENT, is_default=True, name="Standard")[0]


@pytest.fixture
def case_system(authority):
    return make_system(authority, kind=System.Kind.RECIPIENT, name="Sagssystem")[0]


def _to_authority(sender, authority, **kwargs):
    return letter(sender_cvr=sender.cvr, recipient_id=authority.cvr, recipient_type="CVR", **kwargs)


def test_a_contact_point_routes_to_its_recipient_system(
    client, sender, sender_system, authority, default_system, case_system
):
    point = make_contact_point(authority, recipient_system=case_system)
    message_uuid, data = _to_authority(sender, authority, contact_point_id=point.contact_point_id)
    message = _sent(client, sender_system, data, message_uuid)
    assert (message.channel, message.recipient_system, message.contact_point) == (
        Message.Channel.RECIPIENT_SYSTEM,
        case_system,
        point,
    )
    assert Delivery.objects.get(message=message).recipient_system == case_system


def test_a_routing_rule_on_the_kle_code_overrides_the_contact_points_system(
    client, sender, sender_system, authority, default_system, case_system
):
    point = make_contact_point(authority, recipient_system=case_system)
    kle_system = make_system(authority, kind=System.Kind.RECIPIENT, name="Byggesager")[0]
    RoutingRule.objects.create(contact_point=point, kle_prefix="02.34", recipient_system=kle_system)
    matching_uuid, matching = _to_authority(
        sender, authority, contact_point_id=point.contact_point_id, kle="02.34.02"
    )
    other_uuid, other = _to_authority(
        sender, authority, contact_point_id=point.contact_point_id, kle="27.24.00"
    )
    assert _sent(client, sender_system, matching, matching_uuid).recipient_system == kle_system
    assert _sent(client, sender_system, other, other_uuid).recipient_system == case_system


def test_an_unknown_contact_point_is_not_allowed(client, sender, sender_system, authority, default_system):
    message_uuid, data = _to_authority(sender, authority, contact_point_id="no-such-point")
    _not_allowed(client, sender_system, data, message_uuid, "CONTACT_POINT_NOT_FOUND")


def test_an_inactive_contact_point_is_not_allowed(client, sender, sender_system, authority, default_system):
    point = make_contact_point(authority, is_active=False)
    message_uuid, data = _to_authority(sender, authority, contact_point_id=point.contact_point_id)
    _not_allowed(client, sender_system, data, message_uuid, "CONTACT_POINT_NOT_FOUND")


def test_without_a_contact_point_mail_goes_to_the_default_recipient_system(
    client, sender, sender_system, authority, default_system, case_system
):
    message_uuid, data = _to_authority(sender, authority)
    message = _sent(client, sender_system, data, message_uuid)
    assert (message.recipient_system, message.contact_point) == (default_system, None)


def test_a_contact_point_without_a_system_uses_the_default(
    client, sender, sender_system, authority, default_system
):
    point = make_contact_point(authority)
    message_uuid, data = _to_authority(sender, authority, contact_point_id=point.contact_point_id)
    message = _sent(client, sender_system, data, message_uuid)
    assert (message.recipient_system, message.contact_point) == (default_system, point)


def test_an_authority_without_a_recipient_system_is_not_allowed(client, sender, sender_system, authority):
    message_uuid, data = _to_authority(sender, authority)
    _not_allowed(client, sender_system, data, message_uuid, "NO_RECIPIENT_SYSTEM")


def test_mail_for_a_deactivated_system_goes_to_the_default(
    client, sender, sender_system, authority, default_system, case_system
):
    point = make_contact_point(authority, recipient_system=case_system)
    recipient_system_deactivate(system=case_system, reason="test")
    message_uuid, data = _to_authority(sender, authority, contact_point_id=point.contact_point_id)
    assert _sent(client, sender_system, data, message_uuid).recipient_system == default_system


def test_a_deactivated_rule_system_falls_back_to_the_contact_points_system(
    client, sender, sender_system, authority, default_system, case_system
):
    point = make_contact_point(authority, recipient_system=case_system)
    kle_system = make_system(authority, kind=System.Kind.RECIPIENT, name="Byggesager")[0]
    RoutingRule.objects.create(contact_point=point, kle_prefix="02", recipient_system=kle_system)
    recipient_system_deactivate(system=kle_system, reason="test")
    message_uuid, data = _to_authority(
        sender, authority, contact_point_id=point.contact_point_id, kle="02.34.02"
    )
    assert _sent(client, sender_system, data, message_uuid).recipient_system == case_system


def test_an_exempt_citizen_gets_remote_print(client, sender, sender_system, person):
    make_exemption(mailbox=person.mailbox)
    message_uuid, data = _letter_to(person, sender)
    message = _sent(client, sender_system, data, message_uuid)
    assert (message.channel, message.recipient_mailbox) == (Message.Channel.REMOTE_PRINT, person.mailbox)
    assert Delivery.objects.get(message=message).channel == Message.Channel.REMOTE_PRINT
    assert Event.objects.get(message=message, tag=Event.Tag.MEMO_SEND_VALIDATED).details == {
        "channel": "REMOTE_PRINT",
        "exempt": True,
    }


def test_mandatory_post_reaches_an_exempt_citizens_mailbox(client, person):
    sender = OrganisationFactory(may_send_mandatory_post=True)
    make_exemption(mailbox=person.mailbox)
    message_uuid, data = _letter_to(person, sender, mandatory=True)
    message = _sent(client, make_system(sender), data, message_uuid)
    assert (message.channel, message.mandatory) == (Message.Channel.MAILBOX, True)


def test_an_exemption_from_tomorrow_does_not_apply_today(client, sender, sender_system, person):
    make_exemption(mailbox=person.mailbox, valid_from=timezone.localdate() + timedelta(days=1))
    message_uuid, data = _letter_to(person, sender)
    assert _sent(client, sender_system, data, message_uuid).channel == Message.Channel.MAILBOX


def test_an_unknown_cpr_is_not_allowed(client, sender, sender_system):
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id="0101011234")
    _not_allowed(client, sender_system, data, message_uuid, "RECIPIENT_NOT_FOUND")


def test_an_unknown_cvr_is_not_allowed(client, sender, sender_system):
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id="99999999", recipient_type="CVR")
    _not_allowed(client, sender_system, data, message_uuid, "RECIPIENT_NOT_FOUND")


def test_nemsms_to_a_person_without_a_nemsms_number_is_not_allowed(client, sender, sender_system, person):
    message_uuid, data = _letter_to(person, sender, nemsms=True)
    _not_allowed(client, sender_system, data, message_uuid, "NEMSMS_NOT_REGISTERED")


def test_nemsms_to_a_registered_person_is_received(client, sender, sender_system, person):
    person.nemsms_mobile = "+4512345678"
    person.save(update_fields=["nemsms_mobile"])
    message_uuid, data = _letter_to(person, sender, nemsms=True)
    message = _sent(client, sender_system, data, message_uuid)
    assert (message.channel, message.message_type) == (Message.Channel.NEMSMS, Message.MessageType.NEMSMS)


# --- Value date ----------------------------------------------------------------------------


def test_a_future_value_date_holds_the_message(
    client, sender, sender_system, person, django_capture_on_commit_callbacks
):
    value_date = timezone.localdate() + timedelta(days=3)
    message_uuid, data = _letter_to(person, sender, value_date=value_date)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        message = _sent(client, sender_system, data, message_uuid)
    assert callbacks == []
    message.refresh_from_db()
    delivery = Delivery.objects.get(message=message)
    assert (message.state, message.value_date) == (Message.State.HELD, value_date)
    assert (delivery.state, delivery.next_attempt_at) == (Delivery.State.HELD, None)
    assert delivery.due_at == datetime.combine(
        value_date, datetime.min.time(), timezone.get_default_timezone()
    )
    event = Event.objects.get(message=message)
    assert (event.tag, event.details) == (
        Event.Tag.DELAYED_MEMO_SEND_VALIDATED_AWAITING_DELAY,
        {"channel": "MAILBOX", "valueDate": value_date.isoformat()},
    )
    assert not MailboxItem.objects.exists()


def test_todays_value_date_is_delivered_now(
    client, sender, sender_system, person, django_capture_on_commit_callbacks
):
    message_uuid, data = _letter_to(person, sender, value_date=timezone.localdate())
    with django_capture_on_commit_callbacks(execute=True):
        message = _sent(client, sender_system, data, message_uuid)
    message.refresh_from_db()
    assert message.state == Message.State.DELIVERED
    assert MailboxItem.objects.get().message == message
    assert not Event.objects.filter(tag=Event.Tag.DELAYED_MEMO_SEND_VALIDATED_AWAITING_DELAY).exists()


def test_a_value_date_in_the_past_is_delivered_now(
    client, sender, sender_system, person, django_capture_on_commit_callbacks
):
    message_uuid, data = _letter_to(person, sender, value_date=timezone.localdate() - timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        message = _sent(client, sender_system, data, message_uuid)
    message.refresh_from_db()
    assert message.state == Message.State.DELIVERED
    assert MailboxItem.objects.get().message == message


def test_the_receipt_time_stamp_is_utc_even_in_danish_summer_time(client, sender, sender_system, person):
    message_uuid, data = _letter_to(person, sender)
    with time_machine.travel(datetime(2026, 7, 1, 23, 30, 5, 250000, tzinfo=UTC), tick=False):
        response = _post(client, sender_system, data, message_uuid)
    assert response.json()["timeStamp"] == "2026-07-01T23:30:05.250000Z"
