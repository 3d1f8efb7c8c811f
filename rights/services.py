"""Writes for people, organisations and staff roles."""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.db import transaction

from mailbox.services import mailbox_create
from rights.models import Organisation, Person, StaffRole, User

_CPR = re.compile(r"^[0-9]{10}$")
_CVR = re.compile(r"^[0-9]{8}$")


def validate_cpr(cpr: str) -> str:
    cpr = cpr.replace("-", "").strip()
    if not _CPR.match(cpr):
        raise ValidationError({"cpr": "A CPR number is 10 digits (DDMMYYXXXX)."}, code="cpr-invalid")
    return cpr


def validate_cvr(cvr: str) -> str:
    cvr = cvr.strip()
    if not _CVR.match(cvr):
        raise ValidationError({"cvr": "A CVR number is 8 digits."}, code="cvr-invalid")
    return cvr


@transaction.atomic
def organisation_create(
    *,
    cvr: str,
    name: str,
    kind: str,
    may_send_legal_notification: bool = False,
    may_send_mandatory_post: bool = False,
    technical_contact_email: str = "",
) -> Organisation:
    """Create an authority or company with its mailbox."""
    cvr = validate_cvr(cvr)
    if kind not in Organisation.Kind.values:
        raise ValidationError({"kind": f"Kind must be one of {', '.join(Organisation.Kind.values)}."})
    if kind != Organisation.Kind.AUTHORITY and (may_send_legal_notification or may_send_mandatory_post):
        raise ValidationError({"kind": "Only authorities may send legal notifications or mandatory post."})
    if not name.strip():
        raise ValidationError({"name": "An organisation needs a name."})
    if Organisation.objects.filter(cvr=cvr).exists():
        raise ValidationError({"cvr": f"An organisation with CVR {cvr} already exists."}, code="exists")
    organisation = Organisation.objects.create(
        cvr=cvr,
        name=name.strip(),
        kind=kind,
        may_send_legal_notification=may_send_legal_notification,
        may_send_mandatory_post=may_send_mandatory_post,
        technical_contact_email=technical_contact_email,
    )
    mailbox_create(organisation=organisation)
    return organisation


@transaction.atomic
def person_create(
    *,
    cpr: str,
    name: str,
    email: str = "",
    mobile: str = "",
    address: str = "",
    with_login: bool = True,
) -> Person:
    """Create a citizen with a mailbox (and a login identity for the browser inbox)."""
    cpr = validate_cpr(cpr)
    if not name.strip():
        raise ValidationError({"name": "A person needs a name."})
    if Person.objects.filter(cpr=cpr).exists():
        raise ValidationError({"cpr": f"A person with CPR {cpr} already exists."}, code="exists")
    user = None
    if with_login:
        user = User.objects.create_user(username=f"cpr-{cpr}", first_name=name.strip()[:150])
        user.set_unusable_password()
        user.save(update_fields=["password"])
    person = Person.objects.create(
        cpr=cpr,
        name=name.strip(),
        email=email,
        email_verified=bool(email),
        mobile=mobile,
        mobile_verified=bool(mobile),
        address=address,
        user=user,
    )
    mailbox_create(person=person)
    return person


def staff_role_grant(
    *, user: User, organisation: Organisation, role: str, granted_by: User | None = None
) -> StaffRole:
    if role not in StaffRole.Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    staff_role, _ = StaffRole.objects.get_or_create(
        user=user, organisation=organisation, role=role, defaults={"granted_by": granted_by}
    )
    return staff_role
