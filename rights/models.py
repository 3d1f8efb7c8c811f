"""Who is who, and who may do what.

People (CPR) and organisations (CVR) are the parties that own mailboxes and send mail. A
:class:`User` is a login identity (MitID via OIDC, or the development login); a person who
logs in has one. Staff rights are roles per organisation; a person's access to somebody
else's mailbox is a :class:`MailboxAccess` (fuldmagt, or a company employee's right).
"""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class User(AbstractUser):
    """A login identity. Citizens and staff alike; what they may do comes from elsewhere."""

    class Meta:
        db_table = "rights_user"


class Organisation(models.Model):
    """A public authority or a company, identified by its CVR number."""

    class Kind(models.TextChoices):
        AUTHORITY = "AUTHORITY", _("Public authority")
        COMPANY = "COMPANY", _("Company")

    cvr = models.CharField(_("CVR number"), max_length=8, unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    logo = models.FileField(_("logo"), upload_to="logos/", blank=True)
    # NgDP lets only some authorities send legal notifications (forkyndelse) and mandatory
    # post that reaches even exempt recipients digitally.
    may_send_legal_notification = models.BooleanField(default=False)
    may_send_mandatory_post = models.BooleanField(default=False)
    technical_contact_email = models.EmailField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(cvr__regex=r"^[0-9]{8}\Z"), name="organisation_cvr_8_digits"),
            models.CheckConstraint(
                condition=Q(kind__in=["AUTHORITY", "COMPANY"]), name="organisation_kind_valid"
            ),
            # Companies write to authorities; only authorities may use the sender-only powers.
            models.CheckConstraint(
                condition=Q(kind="AUTHORITY")
                | Q(may_send_legal_notification=False, may_send_mandatory_post=False),
                name="organisation_powers_only_for_authorities",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} (CVR {self.cvr})"

    @property
    def is_authority(self) -> bool:
        return self.kind == self.Kind.AUTHORITY


class Person(models.Model):
    """A citizen, identified by CPR number. Notification settings live here."""

    cpr = models.CharField(_("CPR number"), max_length=10, unique=True)
    name = models.CharField(_("name"), max_length=200)
    user = models.OneToOneField(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="person")
    email = models.EmailField(_("e-mail for notifications"), blank=True)
    email_verified = models.BooleanField(default=False)
    mobile = models.CharField(_("mobile number for notifications"), max_length=20, blank=True)
    mobile_verified = models.BooleanField(default=False)
    # NemSMS is a separate registration: text-only messages to the registered mobile.
    nemsms_mobile = models.CharField(_("NemSMS mobile number"), max_length=20, blank=True)
    language = models.CharField(max_length=5, default="da", choices=[("da", "Dansk"), ("en", "English")])
    # Postal address, used when mail must go to remote print.
    address = models.TextField(_("postal address"), blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(condition=Q(cpr__regex=r"^[0-9]{10}\Z"), name="person_cpr_10_digits"),
            models.CheckConstraint(
                condition=Q(nemsms_mobile="") | Q(nemsms_mobile__regex=r"^\+?[0-9]{8,15}\Z"),
                name="person_nemsms_mobile_format",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} (CPR {self.cpr[:6]}-****)"

    @property
    def nemsms_registered(self) -> bool:
        return bool(self.nemsms_mobile)


class StaffRole(models.Model):
    """A role a login holds in one organisation (NgDP privileges, Rettighedsportalen)."""

    class Role(models.TextChoices):
        USER_ADMINISTRATOR = "USER_ADMINISTRATOR", _("User administrator")
        SYSTEM_ADMINISTRATOR = "SYSTEM_ADMINISTRATOR", _("System administrator")
        CONTACT_STRUCTURE_ADMINISTRATOR = (
            "CONTACT_STRUCTURE_ADMINISTRATOR",
            _("Contact structure administrator"),
        )
        EVENT_LOG_READER = "EVENT_LOG_READER", _("Event log reader")
        RECALL_ADMINISTRATOR = "RECALL_ADMINISTRATOR", _("Recall administrator")
        CITIZEN_SERVICE = "CITIZEN_SERVICE", _("Citizen-service staff")
        # In a company: may read and act in the company's mailbox.
        MAILBOX_USER = "MAILBOX_USER", _("Company mailbox user")

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="staff_roles")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="staff_roles")
    role = models.CharField(max_length=40, choices=Role.choices)
    granted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "organisation", "role"], name="staffrole_unique_per_user_org_role"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.role} @ {self.organisation.cvr}"


class MailboxAccess(models.Model):
    """Access to a mailbox that is not one's own: fuldmagt, or a company employee's right.

    READ is read-only; READ_WRITE also lets the grantee write and send on the owner's behalf.
    Access ends at ``valid_until`` or when revoked, whichever comes first; rows are never
    deleted, so the owner can always see who had access and when.
    """

    class Level(models.TextChoices):
        READ = "READ", _("Read access")
        READ_WRITE = "READ_WRITE", _("Read and write access")

    class Kind(models.TextChoices):
        DELEGATION = "DELEGATION", _("Delegation (fuldmagt)")
        EMPLOYEE = "EMPLOYEE", _("Company employee")

    mailbox = models.ForeignKey("mailbox.Mailbox", on_delete=models.CASCADE, related_name="accesses")
    grantee = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="mailbox_accesses")
    level = models.CharField(max_length=12, choices=Level.choices)
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.DELEGATION)
    # Who granted it: the owner, or a staff member acting for the owner (citizen service),
    # or a company's administrator.
    granted_by_person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_by_user = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    valid_from = models.DateTimeField(default=timezone.now)
    valid_until = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gt=models.F("valid_from")),
                name="mailboxaccess_period_ordered",
            ),
            # One live grant per grantee and mailbox; a change of level is revoke + grant.
            models.UniqueConstraint(
                fields=["mailbox", "grantee"],
                condition=Q(revoked_at__isnull=True),
                name="mailboxaccess_one_live_grant",
            ),
        ]
        indexes = [
            # Used by the authorisation check on every delegated mailbox read.
            models.Index(fields=["grantee", "mailbox"], name="mailboxaccess_grantee_idx"),
        ]

    def is_active(self, at=None) -> bool:
        at = at or timezone.now()
        return (
            self.revoked_at is None
            and self.valid_from <= at
            and (self.valid_until is None or at < self.valid_until)
        )


class LoginSession(models.Model):
    """One browser or device where a login is signed in: a Django session its owner can see and end.

    Written when the person logs in (``user_logged_in``), refreshed at most once a minute by
    :class:`rights.middleware.LoginSessionMiddleware`, removed on logout. A session whose row is
    gone is not one the hub knows, and the middleware ends it.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="login_sessions")
    session_key = models.CharField(max_length=40, unique=True)
    user_agent = models.CharField(max_length=400, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    signed_in_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    # In-browser notices of new mail on this device (the inbox checks for new mail and shows a
    # banner). E-mail and SMS notifications are per person, not per device (see Person).
    notifications_enabled = models.BooleanField(default=True)

    class Meta:
        ordering = ["-last_seen_at", "-pk"]
        indexes = [
            # The devices page lists one login's sessions, most recent first.
            models.Index(fields=["user", "-last_seen_at"], name="loginsession_user_seen_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.user} on {self.user_agent[:40] or 'unknown device'}"


class ContactVerification(models.Model):
    """A new e-mail address or mobile number waiting for its owner to enter the code sent to it.

    Until the code is entered the person's old, verified address stays in use. The code is
    stored only as a keyed hash; it expires and allows a few attempts. Asking for a new code
    replaces the pending one, so there is at most one per person and channel.
    """

    class Channel(models.TextChoices):
        EMAIL = "EMAIL", _("E-mail")
        SMS = "SMS", _("SMS")

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="contact_verifications")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    address = models.CharField(max_length=254)
    code_hash = models.CharField(max_length=64)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["person", "channel"], name="contactverification_one_pending_per_channel"
            ),
            models.CheckConstraint(
                condition=Q(channel__in=["EMAIL", "SMS"]), name="contactverification_channel_valid"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.channel} verification for {self.person}"
