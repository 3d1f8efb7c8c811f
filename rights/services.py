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


@transaction.atomic
def staff_role_grant(
    *, user: User, organisation: Organisation, role: str, granted_by: User | None = None
) -> StaffRole:
    """Give a login a role in an organisation (idempotent); a new grant is logged (ROLE_GRANTED)."""
    from adminaccess.models import Event
    from adminaccess.services import event_log_write

    if role not in StaffRole.Role.values:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    if role == StaffRole.Role.MAILBOX_USER and organisation.kind != Organisation.Kind.COMPANY:
        from django.utils.translation import gettext as _

        raise ValidationError({"role": _("Only a company has mailbox users.")}, code="company-only")
    staff_role, created = StaffRole.objects.get_or_create(
        user=user, organisation=organisation, role=role, defaults={"granted_by": granted_by}
    )
    if created:
        event_log_write(
            tag=Event.Tag.ROLE_GRANTED,
            organisation=organisation,
            actor_user=granted_by,
            subject=_subject_of(user),
            details={"role": role, "user": user.username},
        )
    return staff_role


def _subject_of(user: User) -> str:
    """The CPR of the person behind a login, for the event log's subject."""
    person = Person.objects.filter(user=user).only("cpr").first()
    return person.cpr if person else ""


@transaction.atomic
def staff_role_remove(
    *, user: User, organisation: Organisation, role: str, removed_by: User | None = None
) -> bool:
    """Take a role from a login; False if it did not hold it. Logged (ROLE_REMOVED).

    Every organisation keeps at least one user administrator. The organisation's row is locked
    first, so two administrators removing each other at the same moment cannot both succeed.
    """
    from django.utils.translation import gettext as _

    from adminaccess.models import Event
    from adminaccess.services import event_log_write

    Organisation.objects.select_for_update().filter(pk=organisation.pk).first()
    staff_role = StaffRole.objects.filter(user=user, organisation=organisation, role=role).first()
    if staff_role is None:
        return False
    if role == StaffRole.Role.USER_ADMINISTRATOR:
        administrators = StaffRole.objects.filter(
            organisation=organisation, role=StaffRole.Role.USER_ADMINISTRATOR
        ).count()
        if administrators <= 1:
            raise ValidationError(
                {"role": _("The organisation's last user administrator cannot be removed.")},
                code="last-user-administrator",
            )
    staff_role.delete()
    event_log_write(
        tag=Event.Tag.ROLE_REMOVED,
        organisation=organisation,
        actor_user=removed_by,
        subject=_subject_of(user),
        details={"role": role, "user": user.username},
    )
    return True
