"""Sender and recipient systems, and the event log (hændelseslog).

A system authenticates with ``Basic base64(systemId:apiToken)``. Only a hash of the token is
stored, with a short prefix that staff can recognise it by. A registered certificate binds the
system to a client certificate; an allowed-IP list narrows where it may call from.
"""

from __future__ import annotations

import uuid

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rights.models import Organisation, Person, User


class System(models.Model):
    """An afsendersystem or modtagersystem belonging to one organisation."""

    class Kind(models.TextChoices):
        SENDER = "SENDER", _("Sender system")
        RECIPIENT = "RECIPIENT", _("Recipient system")

    class Protocol(models.TextChoices):
        REST_PULL = "REST_PULL", _("REST pull (the system fetches)")
        REST_PUSH = "REST_PUSH", _("REST push (the hub posts)")

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE", _("Active")
        DEACTIVATED = "DEACTIVATED", _("Deactivated")

    system_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="systems")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    name = models.CharField(max_length=200)
    protocol = models.CharField(max_length=10, choices=Protocol.choices, blank=True)
    endpoint = models.URLField(max_length=500, blank=True)
    memo_version = models.CharField(max_length=3, choices=[("1.1", "1.1"), ("1.2", "1.2")], default="1.2")
    is_default = models.BooleanField(default=False)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    technical_contact_email = models.EmailField(blank=True)

    # The API token: a hash for checking, a prefix for recognising. Never the token itself.
    token_hash = models.CharField(max_length=128, blank=True)
    token_prefix = models.CharField(max_length=12, blank=True)
    token_rotated_at = models.DateTimeField(null=True, blank=True)

    # The registered client certificate (OCES/X.509), and what was read from it.
    certificate_pem = models.TextField(blank=True)
    certificate_subject = models.CharField(max_length=500, blank=True)
    certificate_issuer = models.CharField(max_length=500, blank=True)
    certificate_serial = models.CharField(max_length=100, blank=True)
    certificate_not_after = models.DateTimeField(null=True, blank=True)
    certificate_fingerprint = models.CharField(max_length=95, blank=True, help_text="SHA-256, hex")
    # The fingerprint of the certificate the technical contact was last warned about, so the
    # daily expiry check warns once per certificate (a new certificate is warned about anew).
    certificate_expiry_warned_for = models.CharField(max_length=95, blank=True)
    # CIDR strings; empty means any address.
    allowed_ips = models.JSONField(default=list, blank=True)
    # A sender system may also send as organisations that have delegated sending to it
    # (e.g. a municipality's shared case system sending for a joint authority).
    send_on_behalf_of = models.ManyToManyField(
        Organisation, blank=True, related_name="delegated_sender_systems"
    )

    # Health of a recipient system, kept by the delivery engine for the seven-day rule.
    last_success_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    warnings_sent = models.PositiveSmallIntegerField(default=0)
    deactivated_at = models.DateTimeField(null=True, blank=True)
    deactivation_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["organisation", "kind", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation"],
                condition=Q(is_default=True),
                name="system_one_default_recipient_per_organisation",
            ),
            models.CheckConstraint(
                condition=Q(is_default=False) | Q(kind="RECIPIENT"),
                name="system_default_is_recipient",
            ),
            models.CheckConstraint(
                condition=Q(kind="SENDER", protocol="")
                | Q(kind="RECIPIENT", protocol__in=["REST_PULL", "REST_PUSH"]),
                name="system_protocol_only_for_recipients",
            ),
            models.CheckConstraint(
                condition=~Q(protocol="REST_PUSH") | ~Q(endpoint=""),
                name="system_push_needs_endpoint",
            ),
            models.CheckConstraint(
                condition=Q(status="ACTIVE", deactivated_at__isnull=True)
                | Q(status="DEACTIVATED", deactivated_at__isnull=False),
                name="system_deactivated_at_matches_status",
            ),
        ]
        indexes = [
            # The deactivation sweep looks only at failing recipient systems.
            models.Index(
                fields=["failing_since"],
                condition=Q(status="ACTIVE", kind="RECIPIENT"),
                name="system_failing_idx",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()}, {self.organisation.cvr})"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class EventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise TypeError("The event log is append-only; events cannot be updated.")

    def delete(self):
        raise TypeError("The event log is append-only; events cannot be deleted.")


# How an event refers to the rows it is about (see Event).
_LOGGED = {"null": True, "blank": True, "on_delete": models.DO_NOTHING, "db_constraint": False}


class Event(models.Model):
    """One line of the event log. Append-only: written once, never changed or removed.

    Tags follow NgDP's names where one exists. References to messages and systems are kept
    as plain values too, so a line still says what it was about if the row it named goes.
    """

    class Tag(models.TextChoices):
        MEMO_SEND_VALIDATED = "MEMO_SEND_VALIDATED", "MEMO_SEND_VALIDATED"
        MEMO_SEND_INVALID = "MEMO_SEND_INVALID", "MEMO_SEND_INVALID"
        MEMO_SEND_NOT_ALLOWED = "MEMO_SEND_NOT_ALLOWED", "MEMO_SEND_NOT_ALLOWED"
        DELAYED_MEMO_SEND_VALIDATED_AWAITING_DELAY = (
            "DELAYED_MEMO_SEND_VALIDATED_AWAITING_DELAY",
            "DELAYED_MEMO_SEND_VALIDATED_AWAITING_DELAY",
        )
        DELAYED_MEMO_SEND_SENT = "DELAYED_MEMO_SEND_SENT", "DELAYED_MEMO_SEND_SENT"
        MEMO_MESSAGE_RECALLED = "MEMO_MESSAGE_RECALLED", "MEMO_MESSAGE_RECALLED"
        MESSAGE_RECALLED_BY_ADMINISTRATOR = (
            "MESSAGE_RECALLED_BY_ADMINISTRATOR",
            "MESSAGE_RECALLED_BY_ADMINISTRATOR",
        )
        MEMO_SEND_DELIVERED_TO_MAILBOX = (
            "MEMO_SEND_DELIVERED_TO_MAILBOX",
            "MEMO_SEND_DELIVERED_TO_MAILBOX",
        )
        MEMO_SEND_SENT_TO_RECIPIENT_SYSTEM = (
            "MEMO_SEND_SENT_TO_RECIPIENT_SYSTEM",
            "MEMO_SEND_SENT_TO_RECIPIENT_SYSTEM",
        )
        MEMO_SEND_SENT_TO_RECIPIENT_SYSTEM_FAILED = (
            "MEMO_SEND_SENT_TO_RECIPIENT_SYSTEM_FAILED",
            "MEMO_SEND_SENT_TO_RECIPIENT_SYSTEM_FAILED",
        )
        MEMO_SEND_READY_FOR_FETCH = "MEMO_SEND_READY_FOR_FETCH", "MEMO_SEND_READY_FOR_FETCH"
        MEMO_SEND_FETCHED_BY_RECIPIENT_SYSTEM = (
            "MEMO_SEND_FETCHED_BY_RECIPIENT_SYSTEM",
            "MEMO_SEND_FETCHED_BY_RECIPIENT_SYSTEM",
        )
        BUSINESS_RECEIPT_RECEIVED_BY_RECIPIENT_SYSTEM = (
            "BUSINESS_RECEIPT_RECEIVED_BY_RECIPIENT_SYSTEM",
            "BUSINESS_RECEIPT_RECEIVED_BY_RECIPIENT_SYSTEM",
        )
        RECIPIENT_SYSTEM_DEACTIVATED = (
            "RECIPIENT_SYSTEM_DEACTIVATED",
            "RECIPIENT_SYSTEM_DEACTIVATED",
        )
        RECIPIENT_SYSTEM_REACTIVATED = (
            "RECIPIENT_SYSTEM_REACTIVATED",
            "RECIPIENT_SYSTEM_REACTIVATED",
        )
        READ_ACCESS_CREATED = "READ_ACCESS_CREATED", "READ_ACCESS_CREATED"
        READ_ACCESS_DELETED = "READ_ACCESS_DELETED", "READ_ACCESS_DELETED"
        MAILBOX_READ_BY_PARTY_REPRESENTATIVE = (
            "MAILBOX_READ_BY_PARTY_REPRESENTATIVE",
            "MAILBOX_READ_BY_PARTY_REPRESENTATIVE",
        )
        MESSAGE_READ = "MESSAGE_READ", "MESSAGE_READ"
        LEGAL_NOTIFICATION_READ = "LEGAL_NOTIFICATION_READ", "LEGAL_NOTIFICATION_READ"
        DIGITAL_POST_EXEMPTED = "DIGITAL_POST_EXEMPTED", "DIGITAL_POST_EXEMPTED"
        DIGITAL_POST_EXEMPTION_ENDED = (
            "DIGITAL_POST_EXEMPTION_ENDED",
            "DIGITAL_POST_EXEMPTION_ENDED",
        )
        PHYSICAL_LETTER_SENT = "PHYSICAL_LETTER_SENT", "PHYSICAL_LETTER_SENT"
        NOTIFICATION_SENT = "NOTIFICATION_SENT", "NOTIFICATION_SENT"
        NOTIFICATION_FAILED = "NOTIFICATION_FAILED", "NOTIFICATION_FAILED"
        SYSTEM_CREATED = "SYSTEM_CREATED", "SYSTEM_CREATED"
        SYSTEM_CHANGED = "SYSTEM_CHANGED", "SYSTEM_CHANGED"
        API_TOKEN_ROTATED = "API_TOKEN_ROTATED", "API_TOKEN_ROTATED"
        ROLE_GRANTED = "ROLE_GRANTED", "ROLE_GRANTED"
        ROLE_REMOVED = "ROLE_REMOVED", "ROLE_REMOVED"
        CONTACT_STRUCTURE_CHANGED = "CONTACT_STRUCTURE_CHANGED", "CONTACT_STRUCTURE_CHANGED"
        NEMSMS_REGISTERED = "NEMSMS_REGISTERED", "NEMSMS_REGISTERED"
        NEMSMS_REMOVED = "NEMSMS_REMOVED", "NEMSMS_REMOVED"
        LOGO_CHANGED = "LOGO_CHANGED", "LOGO_CHANGED"
        # Citizen service looked a person or company up (who looked whom up).
        CITIZEN_SERVICE_LOOKUP = "CITIZEN_SERVICE_LOOKUP", "CITIZEN_SERVICE_LOOKUP"
        # Test portal: a test citizen or company was made, a test message was sent.
        TEST_IDENTITY_CREATED = "TEST_IDENTITY_CREATED", "TEST_IDENTITY_CREATED"
        TEST_MESSAGE_SENT = "TEST_MESSAGE_SENT", "TEST_MESSAGE_SENT"

    occurred_at = models.DateTimeField(default=timezone.now)
    tag = models.CharField(max_length=64, choices=Tag.choices)
    # Every event is written once and searched within an organisation, a system, a message or a
    # subject, so those are the indexes (below); foreign keys that are only ever followed from
    # the event, never searched by, get none. A national mass send writes millions of rows.
    #
    # The log outlives what it names: none of these references is a database constraint, and
    # removing the row one names leaves the event as it was (DO_NOTHING), id included, instead
    # of rewriting the log. That also spares a release of a million letters a foreign-key check
    # per reference per event. Following a reference whose row is gone raises DoesNotExist
    # (templates show nothing); the event's own columns (message_uuid, subject, details) still
    # say what it was about.
    organisation = models.ForeignKey(Organisation, **_LOGGED, related_name="events", db_index=False)
    system = models.ForeignKey(System, **_LOGGED, related_name="events", db_index=False)
    message = models.ForeignKey("mailbox.Message", **_LOGGED, related_name="events")
    message_uuid = models.UUIDField(null=True, blank=True)
    mailbox = models.ForeignKey("mailbox.Mailbox", **_LOGGED, related_name="events", db_index=False)
    # Who did it: a staff member, a person (owner or representative), or a system.
    actor_user = models.ForeignKey(User, **_LOGGED, related_name="+", db_index=False)
    actor_person = models.ForeignKey(Person, **_LOGGED, related_name="+", db_index=False)
    # The CPR/CVR the event concerns, for the citizen-service and event-log searches.
    subject = models.CharField(max_length=20, blank=True)
    details = models.JSONField(default=dict, blank=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["organisation", "-occurred_at"], name="event_org_time_idx"),
            models.Index(fields=["system", "-occurred_at"], name="event_system_time_idx"),
            # What happened in a mailbox (delegated reads, exemptions): shown to its owner.
            models.Index(
                fields=["mailbox", "-occurred_at"],
                condition=Q(mailbox__isnull=False),
                name="event_mailbox_time_idx",
            ),
            models.Index(fields=["message_uuid"], name="event_message_uuid_idx"),
            models.Index(fields=["tag", "-occurred_at"], name="event_tag_time_idx"),
            models.Index(fields=["subject", "-occurred_at"], name="event_subject_idx"),
        ]

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise TypeError("The event log is append-only; events cannot be updated.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise TypeError("The event log is append-only; events cannot be deleted.")


class Heartbeat(models.Model):
    """Last sign of life from a background process (worker via beat), shown on /healthz."""

    name = models.CharField(max_length=50, unique=True)
    seen_at = models.DateTimeField()


class TestIdentity(models.Model):
    """A citizen or company made in the test portal, so it is recognisable and can be listed.

    The person or company is an ordinary one (with a mailbox, made through the rights
    services), so test mail takes exactly the path real mail takes; this row only marks it as
    a test identity and says which authority's staff made it. The test portal is off in
    production, so test identities exist only in development and test environments.
    """

    __test__ = False  # not a pytest test class, despite the name

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="test_identities")
    person = models.OneToOneField(
        Person, null=True, blank=True, on_delete=models.CASCADE, related_name="test_identity"
    )
    company = models.OneToOneField(
        Organisation, null=True, blank=True, on_delete=models.CASCADE, related_name="test_identity"
    )
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "test identities"
        constraints = [
            models.CheckConstraint(
                condition=(Q(person__isnull=False) & Q(company__isnull=True))
                | (Q(person__isnull=True) & Q(company__isnull=False)),
                name="testidentity_person_or_company",
            ),
        ]

    def __str__(self) -> str:
        return f"Test identity {self.person or self.company}"

    @property
    def party(self) -> Person | Organisation:
        return self.person or self.company

    @property
    def identifier(self) -> str:
        return self.person.cpr if self.person_id else self.company.cvr

    @property
    def id_type(self) -> str:
        return "CPR" if self.person_id else "CVR"

    @property
    def mailbox(self):
        return self.party.mailbox
