"""The test portal in Administrativ Adgang: test citizens and companies, and test messages.

Test identities are ordinary people and companies with mailboxes, made through the rights
services; a :class:`~adminaccess.models.TestIdentity` row marks each one, with the authority
whose staff made it, so they are recognisable and can be listed. A test message is built with
the MeMo library and sent through one of the organisation's sender systems with
:func:`mailbox.sending.memo_send`: exactly the path a letter from an API client takes
(validation, authorisation, routing incl. exemption and value date, receipt, delivery).

The portal exists only where ``DIGITALPOST_TEST_PORTAL`` is on (development, tests), never in
production.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from fpdf.errors import FPDFException

from adminaccess.models import Event, System, TestIdentity
from adminaccess.services import event_log_write, system_create
from mailbox.pdf import render_letter_pdf
from mailbox.sending import SendRefused, SendResult, memo_send
from memo import model as m
from memo.writer import serialize
from rights.delegation import mailbox_access_grant
from rights.models import MailboxAccess, Organisation, Person, User
from rights.services import organisation_create, person_create, validate_cpr, validate_cvr

#: The sender system the portal makes for an organisation the first time it sends.
TEST_PORTAL_SYSTEM_NAME = "Test portal"
#: An authority may send up to 99.5 MB (DESIGN.md); a test PDF may not be larger.
MAX_PDF_BYTES = int(99.5 * 1024 * 1024)


def testportal_enabled() -> bool:
    return bool(getattr(settings, "DIGITALPOST_TEST_PORTAL", False))


# --- Test identities ---------------------------------------------------------------------------


def testportal_identities(*, organisation: Organisation):
    """The test citizens and companies this organisation's staff have made, newest first."""
    return TestIdentity.objects.filter(organisation=organisation).select_related(
        "person__user", "person__mailbox", "company__mailbox"
    )


def _free_cpr() -> str:
    """An unused CPR number with a real birth date (DDMMYY) and a random sequence number."""
    rng = random.SystemRandom()
    while True:
        birth = date.fromordinal(rng.randint(date(1940, 1, 1).toordinal(), date(2005, 12, 31).toordinal()))
        cpr = f"{birth:%d%m%y}{rng.randint(0, 9999):04d}"
        if not Person.objects.filter(cpr=cpr).exists():
            return cpr


def _free_cvr() -> str:
    rng = random.SystemRandom()
    while True:
        cvr = f"{rng.randint(10000000, 99999999)}"
        if not Organisation.objects.filter(cvr=cvr).exists():
            return cvr


def _identity_created(identity: TestIdentity, staff_user: User | None) -> None:
    event_log_write(
        tag=Event.Tag.TEST_IDENTITY_CREATED,
        organisation=identity.organisation,
        mailbox=identity.mailbox,
        actor_user=staff_user,
        subject=identity.identifier,
        details={"idType": identity.id_type, "name": identity.party.name},
    )


@transaction.atomic
def testportal_person_create(
    *,
    organisation: Organisation,
    name: str,
    cpr: str = "",
    address: str = "",
    email: str = "",
    staff_user: User | None = None,
) -> TestIdentity:
    """A test citizen with a mailbox and a login (for the development login). A CPR number
    is made up when none is given."""
    cpr = validate_cpr(cpr) if cpr.strip() else _free_cpr()
    person = person_create(cpr=cpr, name=name, address=address.strip(), email=email.strip())
    identity = TestIdentity.objects.create(organisation=organisation, person=person, created_by=staff_user)
    _identity_created(identity, staff_user)
    return identity


@transaction.atomic
def testportal_company_create(
    *,
    organisation: Organisation,
    name: str,
    cvr: str = "",
    employee_name: str = "",
    staff_user: User | None = None,
) -> TestIdentity:
    """A test company with a mailbox, and a test employee who may read and write in it (so
    the company's inbox can be opened through the development login)."""
    cvr = validate_cvr(cvr) if cvr.strip() else _free_cvr()
    company = organisation_create(cvr=cvr, name=name, kind=Organisation.Kind.COMPANY)
    identity = TestIdentity.objects.create(organisation=organisation, company=company, created_by=staff_user)
    _identity_created(identity, staff_user)
    employee = testportal_person_create(
        organisation=organisation,
        name=employee_name.strip() or _("Employee of %(company)s") % {"company": company.name},
        staff_user=staff_user,
    )
    mailbox_access_grant(
        mailbox=company.mailbox,
        grantee=employee.person,
        level=MailboxAccess.Level.READ_WRITE,
        kind=MailboxAccess.Kind.EMPLOYEE,
        granted_by_user=staff_user,
    )
    return identity


def testportal_login_person(identity: TestIdentity) -> Person | None:
    """Who to log in as to open this identity's inbox: the citizen, or the company's employee."""
    if identity.person_id:
        return identity.person if identity.person.user_id else None
    access = (
        MailboxAccess.objects.filter(
            mailbox=identity.company.mailbox,
            kind=MailboxAccess.Kind.EMPLOYEE,
            revoked_at__isnull=True,
            grantee__user__isnull=False,
            grantee__test_identity__isnull=False,
        )
        .select_related("grantee")
        .order_by("pk")
        .first()
    )
    return access.grantee if access else None


# --- The sender system ---------------------------------------------------------------------------


def testportal_sender_systems(*, organisation: Organisation):
    """The organisation's active sender systems a test message can be sent through."""
    return System.objects.filter(
        organisation=organisation, kind=System.Kind.SENDER, status=System.Status.ACTIVE
    ).order_by("name")


def testportal_sender_system(*, organisation: Organisation, system: System | None = None) -> System:
    """``system`` if it is one of the organisation's active sender systems; without one, the
    portal's own sender system, made on first use (its API token is never needed: the portal
    hands the message to the send path directly)."""
    if system is not None:
        if not testportal_sender_systems(organisation=organisation).filter(pk=system.pk).exists():
            raise ValidationError({"system": _("Choose one of your organisation's active sender systems.")})
        return system
    existing = (
        testportal_sender_systems(organisation=organisation).filter(name=TEST_PORTAL_SYSTEM_NAME).first()
    )
    if existing is not None:
        return existing
    created, _token = system_create(
        organisation=organisation, kind=System.Kind.SENDER, name=TEST_PORTAL_SYSTEM_NAME
    )
    return created


# --- Test messages ---------------------------------------------------------------------------


@dataclass(frozen=True)
class SelfService:
    label: str
    url: str
    deadline: datetime | None = None


@dataclass(frozen=True)
class Appointment:
    label: str
    start: datetime
    end: datetime
    location: str


@dataclass(frozen=True)
class PortalLetter:
    """What staff filled in on the test portal's send form."""

    title: str
    text: str = ""
    pdf: bytes | None = None
    pdf_filename: str = ""
    value_date: date | None = None
    self_service: SelfService | None = None
    appointment: Appointment | None = None


def testportal_letter_check(letter: PortalLetter) -> None:
    """Refuse a letter that should not be sent, field by field, before anything is built."""
    errors: dict[str, str] = {}
    if not letter.title.strip():
        errors["title"] = _("A message needs a title.")
    if letter.pdf is None and not letter.text.strip():
        errors["text"] = _("Write a text or upload a PDF.")
    if letter.pdf is not None and letter.text.strip():
        errors["text"] = _("Write a text or upload a PDF, not both.")
    if letter.pdf is not None:
        if not letter.pdf.startswith(b"%PDF-"):
            errors["pdf"] = _("The file is not a PDF.")
        elif len(letter.pdf) > MAX_PDF_BYTES:
            errors["pdf"] = _("The PDF is larger than 99.5 MB.")
    if letter.value_date is not None and letter.value_date < timezone.localdate():
        errors["value_date"] = _("The value date cannot be in the past.")
    if letter.appointment is not None and letter.appointment.end <= letter.appointment.start:
        errors["appointment_end"] = _("The appointment must end after it starts.")
    if errors:
        raise ValidationError(errors)


def _main_file(letter: PortalLetter, organisation: Organisation, address: str) -> m.File:
    if letter.pdf is not None:
        filename = letter.pdf_filename or "brev.pdf"
        return m.File.from_bytes(letter.pdf, filename=filename, encoding_format="application/pdf")
    paragraphs = [p.strip() for p in letter.text.replace("\r\n", "\n").split("\n\n") if p.strip()]
    try:
        data = render_letter_pdf(
            sender=organisation.name, title=letter.title, paragraphs=paragraphs, recipient_address=address
        )
    except FPDFException:
        # The PDF fonts cover Latin-1 only; other text is sent as it was written.
        return m.File.from_bytes(letter.text.encode(), filename="brev.txt", encoding_format="text/plain")
    return m.File.from_bytes(data, filename="brev.pdf", encoding_format="application/pdf")


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _actions(letter: PortalLetter, organisation: Organisation) -> list[m.Action]:
    actions = []
    if letter.self_service is not None:
        service = letter.self_service
        actions.append(
            m.Action(
                label=service.label,
                action_code=m.ActionCode.SELVBETJENING,
                end_datetime=_utc(service.deadline) if service.deadline else None,
                entry_point=m.EntryPoint(url=service.url),
            )
        )
    if letter.appointment is not None:
        appointment = letter.appointment
        actions.append(
            m.Action(
                label=appointment.label,
                action_code=m.ActionCode.AFTALE,
                reservation=m.Reservation(
                    description=letter.title,
                    reservation_uuid=uuid.uuid4(),
                    abstract=letter.title,
                    location=appointment.location,
                    start_datetime=_utc(appointment.start),
                    end_datetime=_utc(appointment.end),
                    organizer_name=organisation.name,
                ),
            )
        )
    return actions


def testportal_message_build(
    *, organisation: Organisation, identity: TestIdentity, letter: PortalLetter
) -> m.Message:
    """The MeMo message (1.2) for a test letter, as a sender system would build it."""
    party = identity.party
    address = identity.person.address if identity.person_id else ""
    return m.Message(
        memo_version="1.2",
        header=m.MessageHeader(
            message_type=m.MessageType.DIGITALPOST,
            message_uuid=uuid.uuid4(),
            label=letter.title.strip(),
            notification=_("You have mail from %(sender)s.") % {"sender": organisation.name},
            do_not_deliver_until_date=letter.value_date,
            sender=m.Sender(sender_id=organisation.cvr, id_type="CVR", label=organisation.name),
            recipient=m.Recipient(
                recipient_id=identity.identifier, id_type=identity.id_type, label=party.name
            ),
        ),
        body=m.MessageBody(
            created_datetime=datetime.now(UTC).replace(microsecond=0),
            main_document=m.MainDocument(
                label=letter.title.strip(),
                files=[_main_file(letter, organisation, address)],
                actions=_actions(letter, organisation),
            ),
        ),
    )


def testportal_message_send(
    *,
    organisation: Organisation,
    identity: TestIdentity,
    letter: PortalLetter,
    system: System | None = None,
    staff_user: User | None = None,
) -> SendResult:
    """Send a test letter to one of the organisation's test identities through a sender
    system, as API mail. A letter the send path refuses raises ValidationError: nothing sent."""
    if identity.organisation_id != organisation.pk:
        raise ValidationError({"recipient": _("Choose one of your organisation's test identities.")})
    testportal_letter_check(letter)
    system = testportal_sender_system(organisation=organisation, system=system)
    memo = testportal_message_build(organisation=organisation, identity=identity, letter=letter)
    data = serialize(memo)
    try:
        result = memo_send(data=data, system=system, expected_uuid=memo.header.message_uuid)
    except SendRefused as refused:
        details = "; ".join(f"{e.field}: {e.message}" for e in refused.field_errors)
        raise ValidationError(
            f"{refused.code}: {refused.message}" + (f" ({details})" if details else "")
        ) from None
    receipt = result.receipt
    event_log_write(
        tag=Event.Tag.TEST_MESSAGE_SENT,
        organisation=organisation,
        system=system,
        message=receipt.message,
        message_uuid=receipt.message_uuid,
        mailbox=identity.mailbox,
        actor_user=staff_user,
        subject=identity.identifier,
        details={"receiptStatus": receipt.status, "receiptId": str(receipt.receipt_id)},
    )
    return result
