"""Seed the demo world. Safe to run again: what exists is left as it is."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from adminaccess.models import System
from adminaccess.services import system_create
from contactstructure.models import ContactGroup, ContactPoint
from digitalpost import demo
from mailbox.models import Exemption
from rights.models import MailboxAccess, Organisation, Person, StaffRole
from rights.services import organisation_create, person_create, staff_role_grant


class Command(BaseCommand):
    help = "Create demo organisations, people, systems, contact structure and letters (idempotent)."

    def handle(self, *args, **options):
        if not settings.DIGITALPOST_DEV_LOGIN:
            raise CommandError("Demo data is for development only (DIGITALPOST_DEV_LOGIN is off).")
        with transaction.atomic():
            created = seed()
        self.stdout.write(f"Demo data {'created' if created else 'already present'}.")


def _organisation(spec: dict, kind: str, **flags) -> Organisation:
    existing = Organisation.objects.filter(cvr=spec["cvr"]).first()
    return existing or organisation_create(cvr=spec["cvr"], name=spec["name"], kind=kind, **flags)


def _person(spec: dict) -> Person:
    existing = Person.objects.filter(cpr=spec["cpr"]).first()
    return existing or person_create(
        cpr=spec["cpr"],
        name=spec["name"],
        email=spec.get("email", ""),
        address=spec.get("address", ""),
    )


def seed() -> bool:
    if Organisation.objects.filter(cvr=demo.AUTHORITY["cvr"]).exists():
        return False
    authority = _organisation(
        demo.AUTHORITY,
        Organisation.Kind.AUTHORITY,
        may_send_legal_notification=True,
        may_send_mandatory_post=True,
        technical_contact_email="it@kommune.example.dk",
    )
    _organisation(demo.SECOND_AUTHORITY, Organisation.Kind.AUTHORITY)
    company = _organisation(demo.COMPANY, Organisation.Kind.COMPANY)

    citizen = _person(demo.CITIZEN)
    representative = _person(demo.REPRESENTATIVE)
    exempt = _person(demo.EXEMPT_CITIZEN)
    employee = _person(demo.EMPLOYEE)
    staff = _person(demo.STAFF)

    for role in StaffRole.Role.values:
        if role != StaffRole.Role.MAILBOX_USER:
            staff_role_grant(user=staff.user, organisation=authority, role=role)
    staff_role_grant(user=employee.user, organisation=company, role=StaffRole.Role.USER_ADMINISTRATOR)
    staff_role_grant(user=employee.user, organisation=company, role=StaffRole.Role.MAILBOX_USER)

    MailboxAccess.objects.create(
        mailbox=citizen.mailbox,
        grantee=representative,
        level=MailboxAccess.Level.READ,
        granted_by_person=citizen,
    )
    MailboxAccess.objects.create(
        mailbox=company.mailbox,
        grantee=employee,
        level=MailboxAccess.Level.READ_WRITE,
        kind=MailboxAccess.Kind.EMPLOYEE,
        granted_by_user=employee.user,
    )
    Exemption.objects.create(
        mailbox=exempt.mailbox,
        reason="Demo: no digital access",
        print_address=demo.EXEMPT_CITIZEN["address"],
    )

    system_create(
        organisation=authority,
        kind=System.Kind.SENDER,
        name="Sagssystem (demo)",
        token=demo.SENDER_TOKEN,
        system_id=demo.SENDER_SYSTEM_ID,
        technical_contact_email="it@kommune.example.dk",
    )
    recipient, _ = system_create(
        organisation=authority,
        kind=System.Kind.RECIPIENT,
        name="Postmodtagelse (demo)",
        protocol=System.Protocol.REST_PULL,
        is_default=True,
        token=demo.RECIPIENT_TOKEN,
        system_id=demo.RECIPIENT_SYSTEM_ID,
        technical_contact_email="it@kommune.example.dk",
    )

    citizen_service = ContactGroup.objects.create(
        organisation=authority,
        label="Borgerservice",
        info_text="Pas, kørekort, flytning og sundhedskort.",
    )
    children = ContactGroup.objects.create(
        organisation=authority, label="Børn og unge", info_text="Dagtilbud, skole og SFO."
    )
    ContactPoint.objects.create(
        organisation=authority,
        group=citizen_service,
        contact_point_id="borgerservice-pas",
        label="Pas og kørekort",
        info_text="Spørgsmål om pas og kørekort.",
        keywords=["pas", "kørekort", "passport"],
        kle_codes=["05.04.00"],
        recipient_system=recipient,
    )
    ContactPoint.objects.create(
        organisation=authority,
        group=children,
        contact_point_id="pladsanvisning",
        label="Pladsanvisning",
        info_text="Plads i vuggestue, børnehave og SFO.",
        keywords=["børnehave", "vuggestue", "dagpleje", "sfo"],
        kle_codes=["28.03.00"],
        field1_label="Barnets CPR-nummer",
        field1_required=True,
        recipient_system=recipient,
    )
    from mailbox.demo_letters import seed_letters

    seed_letters(authority=authority, citizen=citizen, company=company, exempt=exempt)
    return True
