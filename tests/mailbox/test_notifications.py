"""Notifications about new mail: who is told, what they are told, and sending exactly once."""

from __future__ import annotations

import smtplib
import threading
from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from adminaccess.models import Event
from mailbox import sms
from mailbox.models import Delivery, Message, Notification
from mailbox.notifications import (
    mask_address,
    notification_send,
    notifications_create,
    notifications_create_for_messages,
    notifications_send_pending,
    retry_delay,
)
from mailbox.release import release_due
from mailbox.sending import memo_send
from mailbox.sms import SMS, SMSBackend, SMSPermanentError, SMSTemporaryError
from mailbox.tasks import send_notifications
from rights.models import MailboxAccess, Person
from tests.factories import (
    CompanyFactory,
    OrganisationFactory,
    PersonFactory,
    make_access,
    make_message,
    make_system,
)
from tests.mailbox.api.helpers import letter

pytestmark = pytest.mark.django_db

E, S, N = Notification.Channel.EMAIL, Notification.Channel.SMS, Notification.Channel.NEMSMS
PENDING, SENT, FAILED = Notification.State.PENDING, Notification.State.SENT, Notification.State.FAILED
MEMO_TEXT = "Husk din tid i tandplejen i morgen kl. 10."


# --- Test doubles --------------------------------------------------------------------------------


class ScriptedSMSBackend(SMSBackend):
    """Raises the queued errors in turn, then sends into the shared outbox."""

    errors: list[Exception] = []

    def send(self, to: str, text: str) -> None:
        if self.errors:
            raise self.errors.pop(0)
        sms.outbox.append(SMS(to=to, text=text))


class AlwaysTemporarySMSBackend(SMSBackend):
    def send(self, to: str, text: str) -> None:
        raise SMSTemporaryError("gateway down")


class BlockingSMSBackend(SMSBackend):
    """Holds the send open until the test lets it go (for the concurrency test)."""

    started = threading.Event()
    release = threading.Event()

    def send(self, to: str, text: str) -> None:
        self.started.set()
        self.release.wait(timeout=30)
        sms.outbox.append(SMS(to=to, text=text))


class RefusingEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise smtplib.SMTPRecipientsRefused({"borger@example.dk": (550, b"5.1.1 No such user")})


class UnreachableEmailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError(111, "Connection refused")


@pytest.fixture(autouse=True)
def clean_outboxes(settings):
    settings.HUB_BASE_URL = "https://post.example.dk"
    settings.DIGITALPOST_SMS_BACKEND = "mailbox.sms.LoggingSMSBackend"
    settings.DIGITALPOST_NOTIFICATION_MAX_ATTEMPTS = 5
    sms.outbox.clear()
    ScriptedSMSBackend.errors = []
    yield
    sms.outbox.clear()


# --- Builders ------------------------------------------------------------------------------------


def person(
    *, email="", mobile="", email_verified=True, mobile_verified=True, language="da", nemsms_mobile=""
):
    someone = PersonFactory(email=email, mobile=mobile)
    Person.objects.filter(pk=someone.pk).update(
        email_verified=bool(email) and email_verified,
        mobile_verified=bool(mobile) and mobile_verified,
        language=language,
        nemsms_mobile=nemsms_mobile,
    )
    someone.refresh_from_db()
    return someone


def to_company(company, **fields) -> Message:
    return make_message(
        recipient_mailbox=company.mailbox, recipient_id=company.cvr, recipient_id_type="CVR", **fields
    )


def nemsms_message(recipient, **fields) -> Message:
    message = make_message(
        recipient=recipient,
        message_type=Message.MessageType.NEMSMS,
        channel=Message.Channel.NEMSMS,
        state=Message.State.ACCEPTED,
        label="Tandplejen",
        notification=MEMO_TEXT,
        **fields,
    )
    Delivery.objects.create(message=message, channel=Message.Channel.NEMSMS, state=Delivery.State.PENDING)
    return message


def employee(company, *, now=None, **fields) -> Person:
    grantee = fields.pop("grantee", None) or person(email=fields.pop("email", "ansat@firma.example.dk"))
    fields.setdefault("kind", MailboxAccess.Kind.EMPLOYEE)
    make_access(mailbox=company.mailbox, grantee=grantee, **fields)
    return grantee


def rows(message) -> list[tuple]:
    return sorted(
        Notification.objects.filter(message=message).values_list("person_id", "channel", "address", "state")
    )


def create_one(message):
    notifications_create(message=message)


def create_many(message):
    notifications_create_for_messages(message_ids=[message.pk])


@pytest.fixture(params=[create_one, create_many], ids=["one", "many"])
def create(request):
    """Every rule about who is told holds for one message and for the set-based batch."""
    return request.param


@pytest.fixture
def sender():
    return OrganisationFactory(name="Test Kommune")


# --- Who is told ---------------------------------------------------------------------------------


def test_a_person_with_verified_email_and_mobile_gets_an_email_and_an_sms(create, sender):
    owner = person(email="borger@example.dk", mobile="+4512345678")
    message = make_message(sender=sender, recipient=owner)
    create(message)
    assert rows(message) == [
        (owner.pk, E, "borger@example.dk", PENDING),
        (owner.pk, S, "+4512345678", PENDING),
    ]


def test_a_person_with_only_a_verified_email_gets_only_an_email(create, sender):
    owner = person(email="borger@example.dk", mobile="+4512345678", mobile_verified=False)
    message = make_message(sender=sender, recipient=owner)
    create(message)
    assert rows(message) == [(owner.pk, E, "borger@example.dk", PENDING)]


def test_a_person_with_only_a_verified_mobile_gets_only_an_sms(create, sender):
    owner = person(email="borger@example.dk", email_verified=False, mobile="+4512345678")
    message = make_message(sender=sender, recipient=owner)
    create(message)
    assert rows(message) == [(owner.pk, S, "+4512345678", PENDING)]


def test_unverified_addresses_are_never_used(create, sender):
    owner = person(
        email="borger@example.dk", mobile="+4512345678", email_verified=False, mobile_verified=False
    )
    message = make_message(sender=sender, recipient=owner)
    create(message)
    assert rows(message) == []


def test_a_person_without_addresses_is_not_notified(create, sender):
    message = make_message(sender=sender, recipient=person())
    create(message)
    assert rows(message) == []


def test_those_with_read_access_to_a_persons_mailbox_are_not_notified(create, sender):
    owner = person(email="borger@example.dk")
    make_access(mailbox=owner.mailbox, grantee=person(email="fuldmagt@example.dk", mobile="+4511111111"))
    message = make_message(sender=sender, recipient=owner)
    create(message)
    assert rows(message) == [(owner.pk, E, "borger@example.dk", PENDING)]


def test_a_company_mailbox_notifies_employees_with_live_access_and_a_verified_email(create, sender):
    now = timezone.now()
    company = CompanyFactory(technical_contact_email="it@firma.example.dk")
    told = employee(company, grantee=person(email="ansat@firma.example.dk", mobile="+4512345678"))
    time_limited = employee(company, email="vikar@firma.example.dk", valid_until=now + timedelta(days=1))
    employee(company, grantee=person(email="skjult@firma.example.dk", email_verified=False))
    employee(company, grantee=person(mobile="+4522222222"))
    employee(company, email="gaaet@firma.example.dk", revoked_at=now - timedelta(days=1))
    employee(
        company,
        email="udloebet@firma.example.dk",
        valid_from=now - timedelta(days=10),
        valid_until=now - timedelta(days=1),
    )
    employee(company, email="senere@firma.example.dk", valid_from=now + timedelta(days=1))
    employee(company, email="fuldmagt@firma.example.dk", kind=MailboxAccess.Kind.DELEGATION)
    message = to_company(company, sender=sender)
    create(message)
    assert rows(message) == [
        (told.pk, E, "ansat@firma.example.dk", PENDING),
        (time_limited.pk, E, "vikar@firma.example.dk", PENDING),
    ]


def test_employees_who_share_an_address_get_one_email(create, sender):
    company = CompanyFactory()
    first = employee(company, email="post@firma.example.dk")
    employee(company, email="post@firma.example.dk")
    message = to_company(company, sender=sender)
    create(message)
    assert [r[1:] for r in rows(message)] == [(E, "post@firma.example.dk", PENDING)]
    assert rows(message)[0][0] == first.pk


def test_a_company_without_employees_is_not_notified_at_its_technical_contact(create, sender):
    company = CompanyFactory(technical_contact_email="it@firma.example.dk")
    message = to_company(company, sender=sender)
    create(message)
    assert rows(message) == []


def test_a_nemsms_message_gets_exactly_one_nemsms_and_no_email_or_sms(create, sender):
    owner = person(email="borger@example.dk", mobile="+4512345678", nemsms_mobile="+4587654321")
    message = nemsms_message(owner, sender=sender)
    create(message)
    assert rows(message) == [(owner.pk, N, "+4587654321", PENDING)]


def test_a_nemsms_message_to_someone_no_longer_registered_gets_nothing(create, sender):
    owner = person(email="borger@example.dk", mobile="+4512345678")
    message = nemsms_message(owner, sender=sender)
    create(message)
    assert rows(message) == []


# --- Creating twice, and many at once -------------------------------------------------------------


def test_creating_twice_keeps_one_row_per_channel_and_address(create, sender):
    owner = person(email="borger@example.dk", mobile="+4512345678")
    message = make_message(sender=sender, recipient=owner)
    create(message)
    first = list(Notification.objects.filter(message=message).order_by("pk").values_list("pk", flat=True))
    create(message)
    create_one(message)
    create_many(message)
    assert (
        list(Notification.objects.filter(message=message).order_by("pk").values_list("pk", flat=True))
        == first
    )
    assert len(first) == 2


def test_creating_one_returns_the_existing_rows_the_second_time(sender):
    owner = person(email="borger@example.dk", mobile="+4512345678")
    message = make_message(sender=sender, recipient=owner)
    created = notifications_create(message=message)
    Notification.objects.filter(channel=E).update(state=SENT, sent_at=timezone.now())
    again = notifications_create(message=message)
    assert [(n.channel, n.address) for n in created] == [(E, "borger@example.dk"), (S, "+4512345678")]
    assert [n.pk for n in again] == [n.pk for n in created]
    assert [n.state for n in again] == [SENT, PENDING]


def test_creating_many_reports_only_the_new_rows(sender):
    owner = person(email="borger@example.dk", mobile="+4512345678")
    first, second = make_message(sender=sender, recipient=owner), make_message(sender=sender, recipient=owner)
    assert notifications_create_for_messages(message_ids=[first.pk]) == 2
    assert notifications_create_for_messages(message_ids=[first.pk, second.pk]) == 2
    assert notifications_create_for_messages(message_ids=[first.pk, second.pk]) == 0
    assert notifications_create_for_messages(message_ids=[]) == 0


def _mixed_batch(sender, size: int) -> list[int]:
    """Messages to people with both channels, to a company with two employees, and NemSMS."""
    company = CompanyFactory()
    employee(company, email="a@firma.example.dk")
    employee(company, email="b@firma.example.dk")
    ids = []
    for n in range(size):
        owner = person(
            email=f"borger{n}@example.dk", mobile=f"+45{20000000 + n}", nemsms_mobile=f"+45{30000000 + n}"
        )
        ids.append(make_message(sender=sender, recipient=owner).pk)
        ids.append(to_company(company, sender=sender).pk)
        ids.append(nemsms_message(owner, sender=sender).pk)
    return ids


def test_creating_for_many_messages_takes_one_query_however_many_there_are(
    sender, django_assert_max_num_queries
):
    few, lots = _mixed_batch(sender, 1), _mixed_batch(sender, 15)
    with CaptureQueriesContext(connection) as for_few:
        assert notifications_create_for_messages(message_ids=few) == 5
    with django_assert_max_num_queries(1), CaptureQueriesContext(connection) as for_lots:
        assert notifications_create_for_messages(message_ids=lots) == 75
    assert len(for_few.captured_queries) == len(for_lots.captured_queries) == 1
    assert Notification.objects.filter(message_id__in=lots).count() == 75
    assert sorted(
        Notification.objects.filter(message_id__in=lots).values_list("channel", flat=True).distinct()
    ) == [
        E,
        N,
        S,
    ]


def test_the_value_date_release_records_who_to_tell(sender):
    system = make_system(sender)[0]
    owner = person(email="borger@example.dk", mobile="+4512345678")
    tomorrow = timezone.localdate() + timedelta(days=1)
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=owner.cpr, value_date=tomorrow)
    memo_send(data=data, system=system, expected_uuid=message_uuid)
    message = Message.objects.get(message_uuid=message_uuid)
    assert rows(message) == []
    release_due(today=tomorrow)
    assert rows(message) == [
        (owner.pk, E, "borger@example.dk", PENDING),
        (owner.pk, S, "+4512345678", PENDING),
    ]


# --- What is sent ----------------------------------------------------------------------------------


def _send_all(message) -> list[str]:
    return [
        notification_send(notification_id=pk)
        for pk in Notification.objects.filter(message=message).order_by("pk").values_list("pk", flat=True)
    ]


def test_the_email_is_in_danish_by_default(sender, settings):
    owner = person(email="borger@example.dk")
    message = make_message(sender=sender, recipient=owner, label="Afgørelse om boligstøtte")
    notifications_create(message=message)
    assert _send_all(message) == ["sent"]
    [email] = mail.outbox
    assert (email.to, email.from_email, email.subject) == (
        ["borger@example.dk"],
        settings.DEFAULT_FROM_EMAIL,
        "Du har fået ny Digital Post fra Test Kommune",
    )
    assert email.body == (
        "Du har fået ny Digital Post fra Test Kommune.\n"
        "\n"
        "Titel: Afgørelse om boligstøtte\n"
        "Log ind og læs brevet på https://post.example.dk/post/\n"
        "\n"
        "Af hensyn til din sikkerhed sender vi aldrig brevets indhold med e-mail. "
        "Denne e-mail kan ikke besvares.\n"
    )


def test_the_email_is_in_english_for_a_person_who_chose_english(sender):
    owner = person(email="borger@example.dk", language="en")
    message = make_message(sender=sender, recipient=owner, label="Housing benefit decision")
    notifications_create(message=message)
    _send_all(message)
    [email] = mail.outbox
    assert email.subject == "You have new Digital Post from Test Kommune"
    assert email.body == (
        "You have new Digital Post from Test Kommune.\n"
        "\n"
        "Title: Housing benefit decision\n"
        "Log in to read it at https://post.example.dk/post/\n"
        "\n"
        "For your security, the contents of the letter are never sent by e-mail. "
        "This e-mail cannot be answered.\n"
    )


def test_the_email_never_carries_the_letters_contents(sender):
    owner = person(email="borger@example.dk")
    secret = "CPR 010203-1234 har en gæld på 12.345 kr."
    message = make_message(
        sender=sender, recipient=owner, label="Brev", memo_bytes=f"<memo>{secret}</memo>".encode()
    )
    notifications_create(message=message)
    _send_all(message)
    [email] = mail.outbox
    assert secret not in email.subject + email.body
    assert "<memo>" not in email.body
    assert (email.attachments, getattr(email, "alternatives", [])) == ([], [])


def test_an_employee_is_told_which_company_mailbox_has_mail(sender):
    company = CompanyFactory(name="Firma ApS")
    employee(company, email="ansat@firma.example.dk")
    message = to_company(company, sender=sender, label="Momsangivelse")
    notifications_create(message=message)
    _send_all(message)
    [email] = mail.outbox
    assert email.to == ["ansat@firma.example.dk"]
    assert email.body.splitlines()[2:5] == [
        "Titel: Momsangivelse",
        "Postkasse: Firma ApS",
        "Log ind og læs brevet på https://post.example.dk/post/",
    ]


def test_line_breaks_in_memo_fields_do_not_reach_the_mail_headers(sender):
    owner = person(email="borger@example.dk")
    message = make_message(sender=sender, recipient=owner, sender_label="Test\nKommune\r\nBcc: x@y.dk")
    notifications_create(message=message)
    assert _send_all(message) == ["sent"]
    assert mail.outbox[0].subject == "Du har fået ny Digital Post fra Test Kommune Bcc: x@y.dk"


def test_an_sms_goes_through_the_configured_backend(sender):
    owner = person(mobile="+4512345678")
    message = make_message(sender=sender, recipient=owner)
    notifications_create(message=message)
    assert _send_all(message) == ["sent"]
    assert sms.outbox == [
        SMS(
            to="+4512345678",
            text="Du har fået ny Digital Post fra Test Kommune. Læs den på https://post.example.dk/post/",
        )
    ]
    assert mail.outbox == []


def test_an_english_sms_for_a_person_who_chose_english(sender):
    owner = person(mobile="+4512345678", language="en")
    message = make_message(sender=sender, recipient=owner)
    notifications_create(message=message)
    _send_all(message)
    assert [m.text for m in sms.outbox] == [
        "You have new Digital Post from Test Kommune. Read it at https://post.example.dk/post/"
    ]


def test_a_nemsms_sends_the_memo_text_and_delivers_the_message(sender):
    owner = person(email="borger@example.dk", nemsms_mobile="+4587654321")
    message = nemsms_message(owner, sender=sender)
    notifications_create(message=message)
    assert _send_all(message) == ["sent"]
    assert sms.outbox == [SMS(to="+4587654321", text=MEMO_TEXT)]
    assert mail.outbox == []
    message.refresh_from_db()
    delivery = Delivery.objects.get(message=message)
    assert (message.state, delivery.state) == (Message.State.DELIVERED, Delivery.State.DONE)
    assert message.delivered_at == delivery.completed_at == Notification.objects.get(message=message).sent_at


def test_a_nemsms_for_a_recalled_message_is_not_sent(sender):
    owner = person(nemsms_mobile="+4587654321")
    message = nemsms_message(owner, sender=sender)
    notifications_create(message=message)
    Message.objects.filter(pk=message.pk).update(state=Message.State.RECALLED, recalled_at=timezone.now())
    assert _send_all(message) == ["failed"]
    assert sms.outbox == []
    message.refresh_from_db()
    assert message.state == Message.State.RECALLED
    assert Notification.objects.get(message=message).error == (
        "SMSPermanentError: The message was recalled before it was sent."
    )


# --- Outcomes and the event log ---------------------------------------------------------------------


def test_a_sent_notification_is_recorded_and_logged_with_a_masked_address(sender):
    owner = person(email="borger@example.dk", mobile="+4512345678")
    message = make_message(sender=sender, recipient=owner)
    notifications_create(message=message)
    assert _send_all(message) == ["sent", "sent"]
    notifications = Notification.objects.filter(message=message).order_by("pk")
    assert [(n.state, n.attempts, n.error, n.sent_at is not None) for n in notifications] == [
        (SENT, 1, "", True),
        (SENT, 1, "", True),
    ]
    events = Event.objects.filter(message=message).order_by("pk")
    assert [(e.tag, e.organisation_id, e.subject, e.message_uuid, e.details) for e in events] == [
        (
            Event.Tag.NOTIFICATION_SENT,
            sender.pk,
            owner.cpr,
            message.message_uuid,
            {"channel": E, "address": "b***@example.dk"},
        ),
        (
            Event.Tag.NOTIFICATION_SENT,
            sender.pk,
            owner.cpr,
            message.message_uuid,
            {"channel": S, "address": "*********78"},
        ),
    ]


def test_sending_twice_sends_once(sender):
    owner = person(email="borger@example.dk")
    message = make_message(sender=sender, recipient=owner)
    [notification] = notifications_create(message=message)
    assert notification_send(notification_id=notification.pk) == "sent"
    assert notification_send(notification_id=notification.pk) == "skipped"
    assert len(mail.outbox) == 1
    assert Event.objects.filter(message=message, tag=Event.Tag.NOTIFICATION_SENT).count() == 1
    notification.refresh_from_db()
    assert (notification.state, notification.attempts) == (SENT, 1)


def test_temporary_failures_are_retried_with_backoff_up_to_the_maximum_then_failed(sender, settings):
    settings.DIGITALPOST_SMS_BACKEND = "tests.mailbox.test_notifications.AlwaysTemporarySMSBackend"
    settings.DIGITALPOST_NOTIFICATION_MAX_ATTEMPTS = 3
    owner = person(mobile="+4512345678")
    message = make_message(sender=sender, recipient=owner)
    [notification] = notifications_create(message=message)
    created = notification.created_at

    def send_at(delay):
        outcome = notification_send(notification_id=notification.pk, now=created + delay)
        notification.refresh_from_db()
        return outcome, notification.state, notification.attempts

    assert send_at(timedelta(0)) == ("retry", PENDING, 1)
    assert send_at(retry_delay(1) - timedelta(seconds=1)) == ("skipped", PENDING, 1)
    assert send_at(retry_delay(1)) == ("retry", PENDING, 2)
    assert send_at(retry_delay(2) - timedelta(seconds=1)) == ("skipped", PENDING, 2)
    assert Event.objects.filter(message=message).count() == 0
    assert send_at(retry_delay(2)) == ("failed", FAILED, 3)
    assert send_at(timedelta(days=1)) == ("skipped", FAILED, 3)
    assert notification.error == "SMSTemporaryError: gateway down"
    events = Event.objects.filter(message=message)
    assert [(e.tag, e.subject, e.details) for e in events] == [
        (
            Event.Tag.NOTIFICATION_FAILED,
            owner.cpr,
            {
                "channel": S,
                "address": "*********78",
                "error": "SMSTemporaryError: gateway down",
                "attempts": 3,
            },
        )
    ]
    assert sms.outbox == []


def test_the_backoff_doubles_from_two_minutes():
    assert [retry_delay(n) for n in range(5)] == [timedelta(minutes=m) for m in (0, 2, 6, 14, 30)]


def test_a_temporary_failure_then_success_sends_once(sender, settings):
    settings.DIGITALPOST_SMS_BACKEND = "tests.mailbox.test_notifications.ScriptedSMSBackend"
    ScriptedSMSBackend.errors = [SMSTemporaryError("throttled")]
    owner = person(mobile="+4512345678")
    [notification] = notifications_create(message=make_message(sender=sender, recipient=owner))
    later = notification.created_at + retry_delay(1)
    assert notification_send(notification_id=notification.pk) == "retry"
    assert notification_send(notification_id=notification.pk, now=later) == "sent"
    assert notification_send(notification_id=notification.pk, now=later) == "skipped"
    notification.refresh_from_db()
    assert (notification.state, notification.attempts, notification.error) == (SENT, 2, "")
    assert len(sms.outbox) == 1
    assert list(Event.objects.values_list("tag", flat=True)) == [Event.Tag.NOTIFICATION_SENT]


def test_a_permanent_failure_fails_at_once(sender, settings):
    settings.DIGITALPOST_SMS_BACKEND = "tests.mailbox.test_notifications.ScriptedSMSBackend"
    ScriptedSMSBackend.errors = [SMSPermanentError("number not in service")]
    owner = person(mobile="+4512345678")
    message = make_message(sender=sender, recipient=owner)
    [notification] = notifications_create(message=message)
    assert notification_send(notification_id=notification.pk) == "failed"
    assert (
        notification_send(notification_id=notification.pk, now=timezone.now() + timedelta(days=1))
        == "skipped"
    )
    notification.refresh_from_db()
    assert (notification.state, notification.attempts, notification.error) == (
        FAILED,
        1,
        "SMSPermanentError: number not in service",
    )
    assert sms.outbox == []
    assert [(e.tag, e.details) for e in Event.objects.filter(message=message)] == [
        (
            Event.Tag.NOTIFICATION_FAILED,
            {
                "channel": S,
                "address": "*********78",
                "error": "SMSPermanentError: number not in service",
                "attempts": 1,
            },
        )
    ]


def test_a_nemsms_that_fails_for_good_fails_the_message(sender, settings):
    settings.DIGITALPOST_SMS_BACKEND = "tests.mailbox.test_notifications.ScriptedSMSBackend"
    ScriptedSMSBackend.errors = [SMSPermanentError("number not in service")]
    message = nemsms_message(person(nemsms_mobile="+4587654321"), sender=sender)
    notifications_create(message=message)
    assert _send_all(message) == ["failed"]
    message.refresh_from_db()
    delivery = Delivery.objects.get(message=message)
    assert (message.state, delivery.state, delivery.last_error) == (
        Message.State.FAILED,
        Delivery.State.FAILED,
        "SMSPermanentError: number not in service",
    )


def test_a_nemsms_that_will_be_retried_leaves_the_message_waiting(sender, settings):
    settings.DIGITALPOST_SMS_BACKEND = "tests.mailbox.test_notifications.AlwaysTemporarySMSBackend"
    message = nemsms_message(person(nemsms_mobile="+4587654321"), sender=sender)
    notifications_create(message=message)
    assert _send_all(message) == ["retry"]
    message.refresh_from_db()
    assert (message.state, Delivery.objects.get(message=message).state) == (
        Message.State.ACCEPTED,
        Delivery.State.PENDING,
    )


def test_an_address_the_mail_server_refuses_fails_at_once(sender, settings):
    settings.EMAIL_BACKEND = "tests.mailbox.test_notifications.RefusingEmailBackend"
    [notification] = notifications_create(
        message=make_message(sender=sender, recipient=person(email="borger@example.dk"))
    )
    assert notification_send(notification_id=notification.pk) == "failed"
    notification.refresh_from_db()
    assert (notification.state, notification.attempts) == (FAILED, 1)
    assert notification.error.startswith("SMTPRecipientsRefused: ")


def test_an_unreachable_mail_server_is_retried(sender, settings):
    settings.EMAIL_BACKEND = "tests.mailbox.test_notifications.UnreachableEmailBackend"
    [notification] = notifications_create(
        message=make_message(sender=sender, recipient=person(email="borger@example.dk"))
    )
    assert notification_send(notification_id=notification.pk) == "retry"
    notification.refresh_from_db()
    assert (notification.state, notification.attempts, notification.error) == (
        PENDING,
        1,
        "ConnectionRefusedError: [Errno 111] Connection refused",
    )


# --- The sweep and the tasks --------------------------------------------------------------------------


def test_the_sweep_sends_due_rows_oldest_first_and_twice_sends_once(sender):
    now = timezone.now()
    messages = []
    for n, age in enumerate((1, 3, 2)):
        message = make_message(sender=sender, recipient=person(email=f"borger{n}@example.dk"))
        notifications_create(message=message)
        Notification.objects.filter(message=message).update(created_at=now - timedelta(minutes=age))
        messages.append(message)
    assert notifications_send_pending() == 3
    assert [e.to for e in mail.outbox] == [
        ["borger1@example.dk"],
        ["borger2@example.dk"],
        ["borger0@example.dk"],
    ]
    assert notifications_send_pending() == 0
    assert len(mail.outbox) == 3
    assert Event.objects.filter(tag=Event.Tag.NOTIFICATION_SENT).count() == 3


def test_the_sweep_takes_a_batch_at_a_time(sender):
    for n in range(3):
        notifications_create(message=make_message(sender=sender, recipient=person(email=f"b{n}@example.dk")))
    assert notifications_send_pending(batch=2) == 2
    assert notifications_send_pending(batch=2) == 1
    assert len(mail.outbox) == 3


def test_the_sweep_leaves_rows_that_are_not_due_yet(sender):
    [notification] = notifications_create(
        message=make_message(sender=sender, recipient=person(email="borger@example.dk"))
    )
    Notification.objects.filter(pk=notification.pk).update(attempts=1, created_at=timezone.now())
    assert notifications_send_pending() == 0
    assert notifications_send_pending(now=timezone.now() + retry_delay(1)) == 1
    assert len(mail.outbox) == 1


def test_the_sweep_stops_taking_rows_when_its_time_is_up(sender):
    for n in range(2):
        notifications_create(message=make_message(sender=sender, recipient=person(email=f"b{n}@example.dk")))
    assert notifications_send_pending(time_budget=-1) == 0
    assert mail.outbox == []


def test_the_task_sends_everything_pending(sender):
    owner = person(email="borger@example.dk", mobile="+4512345678")
    notifications_create_for_messages(message_ids=[make_message(sender=sender, recipient=owner).pk])
    assert send_notifications.delay().get() == 2
    assert (len(mail.outbox), len(sms.outbox)) == (1, 1)
    assert send_notifications.delay().get() == 0


def test_each_new_notification_is_sent_once_the_transaction_commits(
    sender, django_capture_on_commit_callbacks
):
    owner = person(email="borger@example.dk", mobile="+4512345678")
    message = make_message(sender=sender, recipient=owner)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        notifications_create(message=message)
    assert (len(callbacks), mail.outbox, sms.outbox) == (2, [], [])
    for callback in callbacks:
        callback()
    assert (len(mail.outbox), len(sms.outbox)) == (1, 1)
    assert set(Notification.objects.values_list("state", flat=True)) == {SENT}


@pytest.mark.django_db(transaction=True)
def test_a_row_another_worker_is_sending_is_skipped_not_sent_twice(settings):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL; SQLite workers take turns on the whole database")
    settings.DIGITALPOST_SMS_BACKEND = "tests.mailbox.test_notifications.BlockingSMSBackend"
    BlockingSMSBackend.started.clear()
    BlockingSMSBackend.release.clear()
    message = make_message(sender=OrganisationFactory(), recipient=person(mobile="+4512345678"))
    # Not notifications_create: outside a test transaction its queued task would run at once.
    notifications_create_for_messages(message_ids=[message.pk])
    notification = Notification.objects.get(message=message)
    outcomes = []

    def first_worker():
        try:
            outcomes.append(notification_send(notification_id=notification.pk))
        finally:
            connections.close_all()

    worker = threading.Thread(target=first_worker)
    worker.start()
    assert BlockingSMSBackend.started.wait(timeout=10)
    assert notification_send(notification_id=notification.pk) == "skipped"
    assert notifications_send_pending() == 0
    BlockingSMSBackend.release.set()
    worker.join(timeout=30)
    assert outcomes == ["sent"]
    assert len(sms.outbox) == 1
    assert notification_send(notification_id=notification.pk) == "skipped"


# --- Masking -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("channel", "address", "masked"),
    [
        (E, "jens.hansen@example.dk", "j***@example.dk"),
        (E, "@example.dk", "***@example.dk"),
        (S, "+4512345678", "*********78"),
        (N, "12345678", "******78"),
        (S, "7", "7"),
    ],
)
def test_addresses_in_the_event_log_are_masked(channel, address, masked):
    assert mask_address(channel, address) == masked
