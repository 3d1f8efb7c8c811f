"""The test portal: test identities, test messages as API mail, and the switch that hides it."""

from datetime import UTC, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from adminaccess.access import Role
from adminaccess.models import Event, System, TestIdentity
from adminaccess.testportal import TEST_PORTAL_SYSTEM_NAME
from mailbox.delivery import delivery_process
from mailbox.models import Action, Delivery, MailboxItem, Message, Receipt
from mailbox.pdf import render_letter_pdf
from rights.models import MailboxAccess, Organisation, Person
from tests.adminaccess.citizenservice.helpers import make_staff
from tests.factories import OrganisationFactory, PersonFactory, make_system, row_counts

pytestmark = pytest.mark.django_db

SENT_ROWS = (Message, Receipt, Delivery, MailboxItem, Event)


@pytest.fixture
def organisation():
    return OrganisationFactory(name="Test Kommune", cvr="29189846")


@pytest.fixture
def admin(client, organisation):
    admin = make_staff(Role.SYSTEM_ADMINISTRATOR, organisation=organisation, name="System Admin")
    client.force_login(admin.user)
    return admin


@pytest.fixture
def test_citizen(client, admin):
    client.post(
        reverse("adminaccess:test-portal-create-person"), {"name": "Test Testesen", "cpr": "0101901111"}
    )
    return TestIdentity.objects.get(person__cpr="0101901111")


def _send(client, identity, **fields):
    data = {"recipient": identity.pk, "system": "", "title": "Testbrev", "text": "Hej.\n\nDette er en test."}
    data.update(fields)
    return client.post(reverse("adminaccess:test-portal-send"), data)


# Test identities


def test_it_creates_a_test_citizen_with_a_mailbox_and_marks_it(client, admin, organisation):
    response = client.post(
        reverse("adminaccess:test-portal-create-person"),
        {"name": "Test Testesen", "cpr": "010190-1111", "address": "Testvej 1"},
    )

    assert response.status_code == 302
    identity = TestIdentity.objects.get()
    person = identity.person
    assert (person.cpr, person.name, person.address, identity.organisation) == (
        "0101901111",
        "Test Testesen",
        "Testvej 1",
        organisation,
    )
    assert person.mailbox is not None and person.user is not None
    event = Event.objects.get(tag=Event.Tag.TEST_IDENTITY_CREATED)
    assert (event.actor_user, event.organisation, event.subject) == (admin.user, organisation, "0101901111")
    assert "Test Testesen" in client.get(reverse("adminaccess:test-portal")).content.decode()


def test_it_makes_up_a_cpr_number_when_none_is_given(client, admin):
    client.post(reverse("adminaccess:test-portal-create-person"), {"name": "Anonym Test"})

    cpr = TestIdentity.objects.get().person.cpr
    assert len(cpr) == 10 and cpr.isdigit()


def test_it_refuses_a_bad_cpr_and_creates_nothing(client, admin):
    before = row_counts(Person, TestIdentity, Event)

    response = client.post(reverse("adminaccess:test-portal-create-person"), {"name": "X", "cpr": "12ab"})

    assert response.status_code == 400
    assert response.context["form"].errors["cpr"] == ["A CPR number is 10 digits (DDMMYYXXXX)."]
    assert row_counts(Person, TestIdentity, Event) == before


def test_it_refuses_a_cpr_in_use_and_creates_nothing(client, admin):
    PersonFactory(cpr="0101901111")
    before = row_counts(Person, TestIdentity, Event)

    response = client.post(
        reverse("adminaccess:test-portal-create-person"), {"name": "X", "cpr": "0101901111"}
    )

    assert response.status_code == 400
    assert response.context["form"].errors["cpr"] == ["A person with CPR 0101901111 already exists."]
    assert row_counts(Person, TestIdentity, Event) == before


def test_it_creates_a_test_company_with_an_employee_who_can_open_its_mailbox(client, admin):
    response = client.post(
        reverse("adminaccess:test-portal-create-company"),
        {"name": "Test ApS", "cvr": "87654321", "employee_name": "Ansat Test"},
    )

    assert response.status_code == 302
    company = TestIdentity.objects.get(company__isnull=False).company
    assert (company.cvr, company.kind) == ("87654321", Organisation.Kind.COMPANY)
    access = MailboxAccess.objects.get(mailbox=company.mailbox)
    assert (access.grantee.name, access.kind, access.level) == ("Ansat Test", "EMPLOYEE", "READ_WRITE")
    assert TestIdentity.objects.filter(person=access.grantee).exists()


def test_the_list_shows_only_this_organisations_test_identities(client, admin):
    from adminaccess.testportal import testportal_person_create

    testportal_person_create(organisation=OrganisationFactory(), name="Someone Elses Test")

    assert "Someone Elses Test" not in client.get(reverse("adminaccess:test-portal")).content.decode()


# Test messages


def test_a_test_message_lands_in_the_test_inbox_through_a_new_test_portal_system(
    client, admin, organisation, test_citizen, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = _send(client, test_citizen)

    assert response.status_code == 302
    message = Message.objects.get()
    assert response["Location"] == reverse(
        "adminaccess:test-portal-receipt", args=[message.receipts.get().receipt_id]
    )
    system = System.objects.get(organisation=organisation, name=TEST_PORTAL_SYSTEM_NAME)
    assert (message.sender_system, message.sender_organisation, message.label) == (
        system,
        organisation,
        "Testbrev",
    )
    assert (message.state, message.channel) == (Message.State.DELIVERED, Message.Channel.MAILBOX)
    item = MailboxItem.objects.get(message=message)
    assert item.mailbox == test_citizen.person.mailbox
    assert message.documents.get().files.get().mime_type == "application/pdf"
    event = Event.objects.get(tag=Event.Tag.TEST_MESSAGE_SENT)
    assert (event.actor_user, event.message, event.system) == (admin.user, message, system)
    assert Event.objects.filter(tag=Event.Tag.MEMO_SEND_VALIDATED, message=message).exists()


def test_the_receipt_page_shows_the_receipt_and_opens_the_test_inbox(
    client, admin, test_citizen, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get(_send(client, test_citizen)["Location"])

    content = response.content.decode()
    receipt = Receipt.objects.get()
    assert response.status_code == 200
    assert str(receipt.transmission_id) in content
    assert '"receiptStatus": "RECEIVED"' in response.context["receipt_json"]
    assert f'name="person" value="{test_citizen.person.pk}"' in content

    login = client.post(f"{reverse('login')}?next={reverse('inbox')}", {"person": test_citizen.person.pk})
    assert login["Location"] == reverse("inbox")
    assert "Testbrev" in client.get(reverse("inbox")).content.decode()


def test_it_goes_through_a_chosen_sender_system(client, admin, organisation, test_citizen):
    system, _ = make_system(organisation, name="ESDH")

    _send(client, test_citizen, system=system.pk)

    assert Message.objects.get().sender_system == system
    assert not System.objects.filter(name=TEST_PORTAL_SYSTEM_NAME).exists()


def test_it_refuses_another_organisations_sender_system_and_sends_nothing(client, admin, test_citizen):
    foreign, _ = make_system(OrganisationFactory(), name="Foreign")
    before = row_counts(*SENT_ROWS)

    response = _send(client, test_citizen, system=foreign.pk)

    assert response.status_code == 400
    assert "system" in response.context["form"].errors
    assert row_counts(*SENT_ROWS) == before


def test_a_message_with_a_value_date_is_held(client, admin, test_citizen, django_capture_on_commit_callbacks):
    value_date = timezone.localdate() + timedelta(days=3)

    with django_capture_on_commit_callbacks(execute=True):
        receipt_page = client.get(_send(client, test_citizen, value_date=value_date.isoformat())["Location"])

    message = Message.objects.get()
    assert (message.state, message.value_date) == (Message.State.HELD, value_date)
    assert not MailboxItem.objects.exists()
    assert "Awaiting value date" in receipt_page.content.decode()


def test_it_sends_an_uploaded_pdf_with_a_self_service_link_and_an_appointment(client, admin, test_citizen):
    from django.core.files.uploadedfile import SimpleUploadedFile

    pdf = render_letter_pdf(sender="Test Kommune", title="Indkaldelse", paragraphs=["Mød op."])
    start = (timezone.localtime() + timedelta(days=5)).replace(hour=9, minute=30, second=0, microsecond=0)

    response = _send(
        client,
        test_citizen,
        text="",
        pdf=SimpleUploadedFile("indkaldelse.pdf", pdf, content_type="application/pdf"),
        self_service_url="https://selvbetjening.example.dk/svar",
        self_service_label="Svar her",
        self_service_deadline=(timezone.localdate() + timedelta(days=14)).isoformat(),
        appointment_start=start.strftime("%Y-%m-%dT%H:%M"),
        appointment_end=(start + timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M"),
        appointment_location="Rådhuset",
    )

    assert response.status_code == 302
    # As any letter from the send API, it gets its documents' rows when it is delivered.
    message = Message.objects.get()
    assert message.documents_pending
    assert delivery_process(message.delivery.pk) == "delivered"
    file = message.documents.get().files.get()
    assert (file.filename, file.mime_type, file.size) == ("indkaldelse.pdf", "application/pdf", len(pdf))
    link, appointment = Action.objects.order_by("position")
    assert (link.action_code, link.label, link.url) == (
        "SELVBETJENING",
        "Svar her",
        "https://selvbetjening.example.dk/svar",
    )
    assert timezone.localtime(link.end_at).date() == timezone.localdate() + timedelta(days=14)
    assert appointment.action_code == "AFTALE"
    assert appointment.reservation["location"] == "Rådhuset"
    assert appointment.reservation["start"] == start.astimezone(UTC).isoformat()


@pytest.mark.parametrize(
    ("fields", "field", "error"),
    [
        ({"recipient": "0101901111"}, "recipient", None),
        ({"value_date": "2020-01-01"}, "value_date", "The value date cannot be in the past."),
        ({"text": ""}, "text", "Write a text or upload a PDF."),
        ({"title": ""}, "title", None),
        ({"self_service_label": "Svar"}, "self_service_url", "A self-service action needs a link."),
        (
            {"appointment_location": "Rådhuset"},
            "appointment_start",
            "An appointment needs a start, an end and a location.",
        ),
    ],
)
def test_it_refuses_invalid_input_on_the_form_and_sends_nothing(
    client, admin, test_citizen, fields, field, error
):
    before = row_counts(*SENT_ROWS)

    response = _send(client, test_citizen, **fields)

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors
    if error:
        assert errors[field] == [error]
    assert row_counts(*SENT_ROWS) == before


def test_it_refuses_a_file_that_is_not_a_pdf_and_sends_nothing(client, admin, test_citizen):
    from django.core.files.uploadedfile import SimpleUploadedFile

    before = row_counts(*SENT_ROWS, System)

    response = _send(
        client,
        test_citizen,
        text="",
        pdf=SimpleUploadedFile("brev.pdf", b"MZ not a pdf", content_type="application/pdf"),
    )

    assert response.status_code == 400
    assert response.context["form"].errors["pdf"] == ["The file is not a PDF."]
    assert row_counts(*SENT_ROWS, System) == before


def test_it_refuses_a_recipient_who_is_not_this_organisations_test_identity(client, admin):
    from adminaccess.testportal import testportal_person_create

    elsewhere = testportal_person_create(organisation=OrganisationFactory(), name="Not Ours")
    before = row_counts(*SENT_ROWS)

    response = _send(client, elsewhere)

    assert response.status_code == 400
    assert "recipient" in response.context["form"].errors
    assert row_counts(*SENT_ROWS) == before


def test_a_receipt_of_ordinary_api_mail_is_not_shown_in_the_portal(client, admin, organisation):
    from mailbox.sending import memo_send
    from tests.adminaccess.citizenservice.helpers import api_letter

    system, _ = make_system(organisation)
    data, message_uuid = api_letter(organisation, PersonFactory().cpr)
    receipt = memo_send(data=data, system=system, expected_uuid=message_uuid).receipt

    response = client.get(reverse("adminaccess:test-portal-receipt", args=[receipt.receipt_id]))

    assert response.status_code == 404


# Who may use it, and where


@pytest.mark.parametrize("name", ["test-portal", "test-portal-create-person", "test-portal-send"])
def test_staff_without_the_system_administrator_role_get_403(client, name):
    client.force_login(make_staff(Role.CITIZEN_SERVICE).user)

    assert client.get(reverse(f"adminaccess:{name}")).status_code == 403


@pytest.mark.parametrize("name", ["test-portal", "test-portal-create-person", "test-portal-send"])
def test_where_the_portal_is_off_every_page_is_404(client, admin, settings, name):
    settings.DIGITALPOST_TEST_PORTAL = False
    before = row_counts(Person, TestIdentity, Event)

    assert client.get(reverse(f"adminaccess:{name}")).status_code == 404
    assert client.post(reverse(f"adminaccess:{name}"), {"name": "X"}).status_code == 404
    assert row_counts(Person, TestIdentity, Event) == before


def test_a_test_message_to_a_test_company_lands_in_its_mailbox_for_its_employee(
    client, admin, django_capture_on_commit_callbacks
):
    client.post(reverse("adminaccess:test-portal-create-company"), {"name": "Test ApS", "cvr": "87654321"})
    company = TestIdentity.objects.get(company__isnull=False)

    with django_capture_on_commit_callbacks(execute=True):
        receipt_page = client.get(_send(client, company)["Location"])

    message = Message.objects.get()
    assert (message.recipient_id_type, message.recipient_id, message.state) == (
        "CVR",
        "87654321",
        "DELIVERED",
    )
    assert MailboxItem.objects.get(message=message).mailbox == company.company.mailbox
    employee = MailboxAccess.objects.get(mailbox=company.company.mailbox).grantee
    assert f'name="person" value="{employee.pk}"' in receipt_page.content.decode()


def test_a_refusal_receipt_is_shown_like_the_api_would_answer(client, admin, test_citizen):
    from mailbox.models import Mailbox

    Mailbox.objects.filter(pk=test_citizen.person.mailbox.pk).update(
        status=Mailbox.Status.CLOSED, closed_at=timezone.now()
    )

    response = client.get(_send(client, test_citizen)["Location"])

    receipt = Receipt.objects.get()
    assert (receipt.status, receipt.error_code, receipt.message) == (
        "NOT_ALLOWED",
        "RECIPIENT_MAILBOX_CLOSED",
        None,
    )
    assert response.status_code == 200
    assert "The test message was not accepted." in response.content.decode()
    assert not Message.objects.exists()
