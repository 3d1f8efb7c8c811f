"""A person's own account in the inbox: where they are logged in, who may read their mail, a
company's employees, and their notification settings.

Services (writes) take keyword-only arguments and never see a request; the views in
``mailbox/views/account.py`` call them and turn a :class:`ValidationError` into a message
tied to the field. The reads the pages need sit at the end of this module.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from importlib import import_module

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from adminaccess.models import Event
from mailbox.models import Folder, Mailbox, MailboxItem
from mailbox.sms import SMSError, get_sms_backend
from rights.delegation import mailbox_access_grant, mailbox_access_revoke
from rights.models import (
    ContactVerification,
    LoginSession,
    MailboxAccess,
    Organisation,
    Person,
    StaffRole,
    User,
)
from rights.nemsms import nemsms_register, nemsms_remove, normalise_mobile

# --- Login identities ---------------------------------------------------------------------------


@transaction.atomic
def person_user_ensure(*, person: Person) -> User:
    """The login identity of a known person, created the first time they log in.

    People come from the national registers (or the demo seed), never from a login: only a
    ``Person`` that exists gets a ``User``.
    """
    person = Person.objects.select_for_update().get(pk=person.pk)
    if person.user_id is not None:
        return person.user
    user = User.objects.filter(username=f"cpr-{person.cpr}").first()
    if user is None:
        user = User.objects.create_user(username=f"cpr-{person.cpr}", first_name=person.name[:150])
        user.set_unusable_password()
        user.save(update_fields=["password"])
    person.user = user
    person.save(update_fields=["user"])
    return user


# --- Devices and sessions -----------------------------------------------------------------------

#: A session's "last seen" is refreshed at most this often, so a busy page costs no extra writes.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


def _session_store():
    return import_module(settings.SESSION_ENGINE).SessionStore


def login_session_record(
    *, user: User, session_key: str, user_agent: str = "", ip_address: str | None = None
) -> LoginSession:
    """Remember where ``user`` just logged in (one row per Django session)."""
    now = timezone.now()
    login_session, _created = LoginSession.objects.update_or_create(
        session_key=session_key,
        defaults={
            "user": user,
            "user_agent": (user_agent or "")[:400],
            "ip_address": ip_address or None,
            "signed_in_at": now,
            "last_seen_at": now,
        },
    )
    return login_session


def login_session_touch(*, session_key: str, ip_address: str | None = None) -> bool:
    """Note that a session was used now. False if the hub does not know the session (any more)."""
    fields = {"last_seen_at": timezone.now()}
    if ip_address:
        fields["ip_address"] = ip_address
    return LoginSession.objects.filter(session_key=session_key).update(**fields) == 1


def login_session_forget(*, session_key: str) -> None:
    """The person logged out of this session: it no longer shows among their devices."""
    LoginSession.objects.filter(session_key=session_key).delete()


@transaction.atomic
def login_session_end(*, login_session: LoginSession) -> None:
    """Log one device out: its Django session ends, so its next request is anonymous."""
    _session_store()(session_key=login_session.session_key).delete()
    login_session.delete()


def login_sessions_end_others(*, user: User, current_session_key: str) -> int:
    """Log out every other device of ``user``; returns how many were logged out."""
    others = list(LoginSession.objects.filter(user=user).exclude(session_key=current_session_key))
    for login_session in others:
        login_session_end(login_session=login_session)
    return len(others)


def login_session_set_notifications(*, login_session: LoginSession, enabled: bool) -> LoginSession:
    login_session.notifications_enabled = enabled
    login_session.save(update_fields=["notifications_enabled"])
    return login_session


def login_sessions_prune(*, user: User) -> int:
    """Forget sessions that ended without a logout (expired, or cleared elsewhere)."""
    store = _session_store()
    cutoff = timezone.now() - timedelta(seconds=settings.SESSION_COOKIE_AGE)
    gone = [
        s.pk
        for s in LoginSession.objects.filter(user=user)
        if s.last_seen_at < cutoff or not store().exists(s.session_key)
    ]
    LoginSession.objects.filter(pk__in=gone).delete()
    return len(gone)


# --- On someone's behalf (fuldmagt) ------------------------------------------------------------


def _person_by_cpr(cpr: str, *, field: str = "cpr") -> Person:
    cpr = re.sub(r"[\s-]", "", cpr or "")
    if not re.fullmatch(r"[0-9]{10}", cpr):
        raise ValidationError({field: _("A CPR number is 10 digits, e.g. 010180-1234.")}, code="cpr-invalid")
    person = Person.objects.filter(cpr=cpr).first()
    if person is None:
        raise ValidationError(
            {field: _("No person with this CPR number uses Digital Post.")}, code="unknown-person"
        )
    return person


def _end_of_day(day: date | None) -> datetime | None:
    """Access "until 3 May" lasts all of 3 May, Danish time."""
    if day is None:
        return None
    if day < timezone.localdate():
        raise ValidationError({"valid_until": _("The end date cannot be in the past.")}, code="past")
    return timezone.make_aware(datetime.combine(day + timedelta(days=1), time.min))


def _grant(
    *, mailbox: Mailbox, grantee: Person, level: str, kind: str, valid_until, actor: Person
) -> MailboxAccess:
    if level not in MailboxAccess.Level.values:
        raise ValidationError({"level": _("Choose read access or read and write access.")}, code="level")
    # An expired grant still holds the one "live" slot (mailboxaccess_one_live_grant); close it
    # at the moment it ended, so the history stays true and a new grant can be made.
    MailboxAccess.objects.filter(
        mailbox=mailbox, grantee=grantee, revoked_at__isnull=True, valid_until__lte=timezone.now()
    ).update(revoked_at=F("valid_until"))
    if MailboxAccess.objects.filter(mailbox=mailbox, grantee=grantee, revoked_at__isnull=True).exists():
        raise ValidationError(
            {"cpr": _("%(name)s already has access. Remove it first to change it.") % {"name": grantee.name}},
            code="exists",
        )
    try:
        return mailbox_access_grant(
            mailbox=mailbox,
            grantee=grantee,
            level=level,
            kind=kind,
            valid_until=valid_until,
            granted_by_person=actor,
            granted_by_user=actor.user,
        )
    except ValidationError as error:
        # A grant made at the same moment (mailboxaccess_one_live_grant), or another refusal:
        # shown on the CPR field, where the person was named.
        raise ValidationError({"cpr": error.messages}) from None


def delegation_grant(
    *, owner: Person, cpr: str, level: str, valid_until: date | None = None
) -> MailboxAccess:
    """The owner gives another person read (or read-write) access to their own mailbox."""
    grantee = _person_by_cpr(cpr)
    if grantee.pk == owner.pk:
        raise ValidationError({"cpr": _("You cannot give yourself access.")}, code="self")
    return _grant(
        mailbox=owner.mailbox,
        grantee=grantee,
        level=level,
        kind=MailboxAccess.Kind.DELEGATION,
        valid_until=_end_of_day(valid_until),
        actor=owner,
    )


def delegation_revoke(*, owner: Person, access: MailboxAccess) -> MailboxAccess:
    """The owner takes access back. It stops at once: access is checked on every request."""
    if access.mailbox_id != owner.mailbox.pk:
        raise ValidationError({"access": _("This access is not to your mailbox.")}, code="not-yours")
    return _revoke(access=access, actor=owner)


def _revoke(*, access: MailboxAccess, actor: Person) -> MailboxAccess:
    try:
        return mailbox_access_revoke(access=access, revoked_by=actor.user, revoked_by_person=actor)
    except ValidationError:
        raise ValidationError({"access": _("This access has already ended.")}, code="revoked") from None


# --- Company mailboxes --------------------------------------------------------------------------


def companies_administered(*, person: Person) -> QuerySet[Organisation]:
    """Companies whose employees' mailbox access this person may manage (user administrator)."""
    if person.user_id is None:
        return Organisation.objects.none()
    return Organisation.objects.filter(
        kind=Organisation.Kind.COMPANY,
        staff_roles__user_id=person.user_id,
        staff_roles__role=StaffRole.Role.USER_ADMINISTRATOR,
    ).distinct()


def _require_administrator(*, person: Person, organisation: Organisation) -> None:
    if not companies_administered(person=person).filter(pk=organisation.pk).exists():
        raise PermissionDenied("Only the company's user administrator manages its employees' access.")


def company_employee_grant(
    *, administrator: Person, organisation: Organisation, cpr: str, level: str
) -> MailboxAccess:
    """A company's user administrator gives an employee access to the company mailbox."""
    _require_administrator(person=administrator, organisation=organisation)
    employee = _person_by_cpr(cpr)
    return _grant(
        mailbox=organisation.mailbox,
        grantee=employee,
        level=level,
        kind=MailboxAccess.Kind.EMPLOYEE,
        valid_until=None,
        actor=administrator,
    )


def company_employee_remove(
    *, administrator: Person, organisation: Organisation, access: MailboxAccess
) -> MailboxAccess:
    _require_administrator(person=administrator, organisation=organisation)
    if access.mailbox_id != organisation.mailbox.pk or access.kind != MailboxAccess.Kind.EMPLOYEE:
        raise ValidationError({"access": _("This is not an employee of this company.")}, code="not-employee")
    return _revoke(access=access, actor=administrator)


# --- Notification settings ----------------------------------------------------------------------

Channel = ContactVerification.Channel


def _code_hash(verification_person_id: int, channel: str, address: str, code: str) -> str:
    # Keyed with SECRET_KEY: a leaked table does not give the codes away by brute force alone.
    return salted_hmac(
        "rights.ContactVerification",
        f"{verification_person_id}:{channel}:{address}:{code}",
        algorithm="sha256",
    ).hexdigest()


def _normalise_address(channel: str, address: str) -> str:
    address = (address or "").strip()
    if channel == Channel.EMAIL:
        try:
            validate_email(address)
        except ValidationError:
            raise ValidationError(
                {"email": _("Enter a valid e-mail address.")}, code="email-invalid"
            ) from None
        return address.lower()
    try:
        return normalise_mobile(address)
    except ValidationError:
        raise ValidationError(
            {"mobile": _("A mobile number is 8 to 15 digits, optionally starting with +.")},
            code="mobile-invalid",
        ) from None


def _field(channel: str) -> str:
    return "email" if channel == Channel.EMAIL else "mobile"


def contact_verification_start(*, person: Person, channel: str, address: str) -> ContactVerification:
    """Send a 6-digit code to a new address; it is used once the code comes back.

    Until then the person's current verified address stays in use. A new request replaces a
    pending code, but not more often than once a minute (each one costs an e-mail or an SMS).
    """
    if channel not in Channel.values:
        raise ValidationError({"channel": "Unknown channel."})
    address = _normalise_address(channel, address)
    field = _field(channel)
    if getattr(person, field) == address and getattr(person, f"{field}_verified"):
        raise ValidationError({field: _("This is already your confirmed address.")}, code="unchanged")
    now = timezone.now()
    code = f"{secrets.randbelow(1_000_000):06d}"
    try:
        verification = _verification_replace(
            person=person, channel=channel, address=address, code=code, now=now
        )
    except IntegrityError:
        # Another request for a code won the race (contactverification_one_pending_per_channel).
        raise ValidationError({field: _("A code is already on its way.")}, code="too-soon") from None
    try:
        _send_code(channel=channel, address=address, code=code)
    except (SMSError, OSError):
        verification.delete()
        raise ValidationError(
            {field: _("The code could not be sent. Check the address and try again later.")},
            code="send-failed",
        ) from None
    return verification


@transaction.atomic
def _verification_replace(
    *, person: Person, channel: str, address: str, code: str, now
) -> ContactVerification:
    field = _field(channel)
    previous = ContactVerification.objects.select_for_update().filter(person=person, channel=channel).first()
    if previous is not None and now - previous.created_at < timedelta(minutes=1):
        raise ValidationError(
            {field: _("A code was sent less than a minute ago. Wait a moment before asking again.")},
            code="too-soon",
        )
    ContactVerification.objects.filter(person=person, channel=channel).delete()
    verification = ContactVerification.objects.create(
        person=person,
        channel=channel,
        address=address,
        code_hash=_code_hash(person.pk, channel, address, code),
        created_at=now,
        expires_at=now + timedelta(minutes=settings.DIGITALPOST_VERIFICATION_CODE_MINUTES),
    )
    return verification


def _send_code(*, channel: str, address: str, code: str) -> None:
    minutes = settings.DIGITALPOST_VERIFICATION_CODE_MINUTES
    if channel == Channel.EMAIL:
        send_mail(
            _("Your Digital Post confirmation code"),
            _("Your code is %(code)s. Enter it in Digital Post within %(minutes)s minutes.")
            % {"code": code, "minutes": minutes},
            None,
            [address],
        )
    else:
        get_sms_backend().send(
            address,
            _("Digital Post code: %(code)s (valid for %(minutes)s minutes)")
            % {"code": code, "minutes": minutes},
        )


def contact_verification_confirm(*, person: Person, channel: str, code: str) -> Person:
    """Take the new address into use if ``code`` is right; otherwise count the attempt.

    A refused code changes nothing but the attempt count: the old address stays in use.
    """
    field = _field(channel)
    now = timezone.now()
    verification = ContactVerification.objects.filter(person=person, channel=channel).first()
    if verification is None:
        raise ValidationError({"code": _("No code is waiting. Ask for a new one.")}, code="none")
    if verification.expires_at <= now:
        raise ValidationError({"code": _("The code has expired. Ask for a new one.")}, code="expired")
    # Count the attempt before comparing, in one conditional UPDATE, so parallel guesses
    # cannot get past the limit.
    counted = ContactVerification.objects.filter(
        pk=verification.pk, attempts__lt=settings.DIGITALPOST_VERIFICATION_MAX_ATTEMPTS
    ).update(attempts=F("attempts") + 1)
    if not counted:
        raise ValidationError({"code": _("Too many wrong codes. Ask for a new one.")}, code="too-many")
    code = re.sub(r"\s", "", code or "")
    expected = verification.code_hash
    if not (
        re.fullmatch(r"[0-9]{6}", code)
        and constant_time_compare(_code_hash(person.pk, channel, verification.address, code), expected)
    ):
        raise ValidationError({"code": _("That code is not right.")}, code="wrong")
    with transaction.atomic():
        if not ContactVerification.objects.filter(pk=verification.pk).delete()[0]:
            raise ValidationError({"code": _("No code is waiting. Ask for a new one.")}, code="none")
        setattr(person, field, verification.address)
        setattr(person, f"{field}_verified", True)
        person.save(update_fields=[field, f"{field}_verified"])
        if channel == Channel.SMS and person.nemsms_mobile and person.nemsms_mobile != verification.address:
            # NemSMS follows the confirmed mobile number.
            nemsms_register(
                person=person, mobile=verification.address, actor_person=person, actor_user=person.user
            )
    return person


def contact_verification_cancel(*, person: Person, channel: str) -> None:
    ContactVerification.objects.filter(person=person, channel=channel).delete()


@transaction.atomic
def contact_remove(*, person: Person, channel: str) -> Person:
    """Stop notifications by e-mail (or SMS): the address is forgotten."""
    field = _field(channel)
    ContactVerification.objects.filter(person=person, channel=channel).delete()
    setattr(person, field, "")
    setattr(person, f"{field}_verified", False)
    person.save(update_fields=[field, f"{field}_verified"])
    if channel == Channel.SMS and person.nemsms_mobile:
        nemsms_remove(person=person, actor_person=person, actor_user=person.user)
    return person


def nemsms_set(*, person: Person, enabled: bool) -> Person:
    """NemSMS on (to the person's confirmed mobile number) or off."""
    if enabled:
        if not (person.mobile and person.mobile_verified):
            raise ValidationError(
                {"nemsms": _("Confirm a mobile number first: NemSMS is sent to it.")}, code="no-mobile"
            )
        if person.nemsms_mobile == person.mobile:
            return person
        return nemsms_register(
            person=person, mobile=person.mobile, actor_person=person, actor_user=person.user
        )
    if not person.nemsms_mobile:
        return person
    return nemsms_remove(person=person, actor_person=person, actor_user=person.user)


LANGUAGES = ("da", "en")


def person_language_set(*, person: Person, language: str) -> Person:
    if language not in LANGUAGES:
        raise ValidationError({"language": _("Choose Danish or English.")}, code="language")
    if person.language != language:
        person.language = language
        person.save(update_fields=["language"])
    return person


# --- Reads for the pages ------------------------------------------------------------------------


def pending_verification(*, person: Person, channel: str) -> ContactVerification | None:
    return ContactVerification.objects.filter(person=person, channel=channel).first()


def delegations_of(*, mailbox: Mailbox, kind: str = MailboxAccess.Kind.DELEGATION) -> tuple[list, list]:
    """(live, ended) grants to a mailbox, newest first; ended ones are the history."""
    now = timezone.now()
    accesses = (
        MailboxAccess.objects.filter(mailbox=mailbox, kind=kind)
        .select_related("grantee", "granted_by_person", "revoked_by__person")
        .order_by("-valid_from", "-pk")
    )
    live, ended = [], []
    for access in accesses:
        (live if access.is_active(now) else ended).append(access)
    return live, ended


def access_ended_at(access: MailboxAccess) -> datetime | None:
    return access.revoked_at or access.valid_until


def representative_reads(*, mailbox: Mailbox) -> QuerySet[Event]:
    """Every read of the mailbox by someone acting for its owner (written by the reading side)."""
    return (
        Event.objects.filter(mailbox=mailbox, tag=Event.Tag.MAILBOX_READ_BY_PARTY_REPRESENTATIVE)
        .select_related("actor_person", "message")
        .order_by("-occurred_at", "-pk")
    )


def access_changes(*, mailbox: Mailbox) -> QuerySet[Event]:
    """Every grant and revocation of access to the mailbox."""
    return (
        Event.objects.filter(
            mailbox=mailbox, tag__in=[Event.Tag.READ_ACCESS_CREATED, Event.Tag.READ_ACCESS_DELETED]
        )
        .select_related("actor_person", "actor_user")
        .order_by("-occurred_at", "-pk")
    )


def login_sessions_of(*, user: User) -> QuerySet[LoginSession]:
    return LoginSession.objects.filter(user=user).order_by("-last_seen_at", "-pk")


@dataclass(frozen=True)
class Device:
    browser: str
    system: str

    def __str__(self) -> str:
        return f"{self.browser}, {self.system}" if self.system else self.browser


# Order matters: Edge and Opera also say "Chrome", Chrome also says "Safari".
_BROWSERS = [
    (r"Edg(?:e|A|iOS)?/", "Microsoft Edge"),
    (r"OPR/|Opera", "Opera"),
    (r"SamsungBrowser/", "Samsung Internet"),
    (r"Firefox/|FxiOS/", "Firefox"),
    (r"Chrome/|CriOS/|Chromium/", "Chrome"),
    (r"Safari/", "Safari"),
]
_SYSTEMS = [
    (r"iPhone", "iPhone"),
    (r"iPad", "iPad"),
    (r"Android", "Android"),
    (r"Windows", "Windows"),
    (r"Mac OS X|Macintosh", "macOS"),
    (r"CrOS", "ChromeOS"),
    (r"Linux", "Linux"),
]


def describe_user_agent(user_agent: str) -> Device:
    """A readable "browser, system" from a User-Agent header; enough to recognise one's device."""
    user_agent = user_agent or ""
    browser = next((name for pattern, name in _BROWSERS if re.search(pattern, user_agent)), "")
    system = next((name for pattern, name in _SYSTEMS if re.search(pattern, user_agent)), "")
    return Device(browser=browser or _("Unknown browser"), system=system)


def login_session_for(*, user: User, pk: int) -> LoginSession:
    return LoginSession.objects.get(user=user, pk=pk)


def new_mail_count(*, mailbox: Mailbox, since: datetime) -> int:
    """Unread letters that arrived in the inbox after ``since`` (the in-browser new-mail notice)."""
    return MailboxItem.objects.filter(
        mailbox=mailbox,
        folder__kind=Folder.Kind.INBOX,
        received_at__gt=since,
        read_at__isnull=True,
        deleted_at__isnull=True,
    ).count()
