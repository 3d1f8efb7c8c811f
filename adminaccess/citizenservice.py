"""Citizen service (borgerservice) in Administrativ Adgang: look a citizen or company up, and act
on their behalf (exemption from Digital Post, read access for another person, NemSMS).

Every lookup is itself logged, naming who looked whom up, and the page about a person can only
be reached through a logged lookup (see :func:`citizen_service_lookup` and the views), so
reading someone's details never leaves no trace. The actions call the domain services
(``mailbox.services``, ``rights.delegation``, ``rights.nemsms``), which write their own events
with the staff member as actor.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from adminaccess.models import Event
from adminaccess.services import event_log_write
from mailbox.models import Exemption, Mailbox
from mailbox.services import exemption_create, exemption_end
from rights.delegation import mailbox_access_grant
from rights.models import MailboxAccess, Organisation, Person, User
from rights.services import validate_cpr, validate_cvr

CPR, CVR = "CPR", "CVR"


def party_number_parse(value: str) -> tuple[str, str]:
    """A CPR (10 digits) or CVR (8 digits) number as typed, as ``(kind, number)``."""
    digits = re.sub(r"[\s-]", "", value or "")
    if len(digits) == 10:
        return CPR, validate_cpr(digits)
    if len(digits) == 8:
        return CVR, validate_cvr(digits)
    raise ValidationError(
        {"number": _("Enter a CPR number (10 digits) or a CVR number (8 digits).")}, code="number-invalid"
    )


def citizen_service_lookup(*, number: str, staff_user: User, organisation: Organisation) -> Mailbox | None:
    """The mailbox of the citizen (CPR) or company (CVR) with this number, or None.

    One exact number gives at most one party: there is no search that lists people. The
    lookup is logged whether or not anyone was found.
    """
    kind, number = party_number_parse(number)
    if kind == CPR:
        mailbox = Mailbox.objects.filter(owner_person__cpr=number).select_related("owner_person").first()
    else:
        mailbox = (
            Mailbox.objects.filter(
                owner_organisation__cvr=number, owner_organisation__kind=Organisation.Kind.COMPANY
            )
            .select_related("owner_organisation")
            .first()
        )
    event_log_write(
        tag=Event.Tag.CITIZEN_SERVICE_LOOKUP,
        organisation=organisation,
        mailbox=mailbox,
        actor_user=staff_user,
        subject=number,
        details={"idType": kind, "found": mailbox is not None},
    )
    return mailbox


@dataclass(frozen=True)
class PartyOverview:
    """What citizen service sees about one mailbox's owner."""

    mailbox: Mailbox
    person: Person | None
    company: Organisation | None
    exemption: Exemption | None
    # Earlier exemptions, newest first (ended, or superseded).
    past_exemptions: list[Exemption]
    # Live and future grants (not revoked, not expired), by grantee name.
    accesses: list[MailboxAccess]

    @property
    def kind(self) -> str:
        return CPR if self.person else CVR

    @property
    def identifier(self) -> str:
        return self.mailbox.owner_identifier

    @property
    def name(self) -> str:
        return self.mailbox.owner.name

    @property
    def default_print_address(self) -> str:
        return self.person.address if self.person else ""


def party_overview(*, mailbox: Mailbox) -> PartyOverview:
    now = timezone.now()
    exemptions = list(mailbox.exemptions.select_related("created_by", "ended_by").order_by("-created_at"))
    current = next((e for e in exemptions if e.ended_at is None), None)
    accesses = list(
        MailboxAccess.objects.filter(mailbox=mailbox, revoked_at__isnull=True)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))
        .select_related("grantee", "granted_by_person", "granted_by_user")
        .order_by("grantee__name", "pk")
    )
    return PartyOverview(
        mailbox=mailbox,
        person=mailbox.owner_person,
        company=mailbox.owner_organisation,
        exemption=current,
        past_exemptions=[e for e in exemptions if e is not current],
        accesses=accesses,
    )


def end_of_day(day: date) -> datetime:
    """The first instant after ``day`` in Danish time: an end date includes the whole day."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=timezone.get_default_timezone())


def citizen_service_exempt(
    *,
    mailbox: Mailbox,
    reason: str,
    valid_from: date | None,
    valid_until: date | None,
    print_address: str,
    staff_user: User,
    organisation: Organisation,
) -> Exemption:
    """Exempt the owner from Digital Post: their letters go to remote print at this address."""
    if not print_address.strip():
        raise ValidationError({"print_address": _("Remote print needs a postal address.")})
    return exemption_create(
        mailbox=mailbox,
        reason=reason,
        valid_from=valid_from,
        valid_until=valid_until,
        print_address=print_address.strip(),
        created_by=staff_user,
        organisation=organisation,
    )


def citizen_service_end_exemption(
    *, mailbox: Mailbox, staff_user: User, organisation: Organisation
) -> Exemption:
    return exemption_end(mailbox=mailbox, ended_by=staff_user, organisation=organisation)


def grantee_for(cpr: str) -> Person:
    """The person read access is granted to, by exact CPR number."""
    cpr = validate_cpr(cpr)
    person = Person.objects.filter(cpr=cpr).first()
    if person is None:
        raise ValidationError({"grantee": _("No person with this CPR number was found.")}, code="not-found")
    return person


def citizen_service_grant_read_access(
    *, mailbox: Mailbox, grantee_cpr: str, valid_until: date | None, staff_user: User
) -> MailboxAccess:
    """Give another person read access to a citizen's mailbox, on the citizen's behalf."""
    if mailbox.owner_person_id is None:
        raise ValidationError({"grantee": _("Read access on someone's behalf is for citizens' mailboxes.")})
    try:
        grantee = grantee_for(grantee_cpr)
    except ValidationError as error:
        if "cpr" in error.message_dict:
            raise ValidationError({"grantee": error.message_dict["cpr"]}) from None
        raise
    return mailbox_access_grant(
        mailbox=mailbox,
        grantee=grantee,
        level=MailboxAccess.Level.READ,
        valid_until=end_of_day(valid_until) if valid_until else None,
        granted_by_user=staff_user,
    )
