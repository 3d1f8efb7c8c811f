"""Kontaktstruktur: how citizens and companies find the right place to write to an authority.

Contact groups form a tree with short info texts; contact points are the leaves people write
to. A contact point carries search keywords, KLE codes, up to two free-text fields the writer
must fill, its own (lower) size limits, and the recipient system its mail is routed to.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rights.models import Organisation

#: A citizen or company may send at most 10 MB; a contact point may lower that.
CITIZEN_MAX_BYTES = 10 * 1024 * 1024
CITIZEN_MAX_ATTACHMENTS = 10


class ContactGroup(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="contact_groups")
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    label = models.CharField(_("label"), max_length=200)
    info_text = models.TextField(_("info text"), blank=True)
    position = models.PositiveIntegerField(default=0)
    is_visible = models.BooleanField(default=True)

    class Meta:
        ordering = ["position", "label"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "parent", "label"], name="contactgroup_label_unique"
            ),
            # NULL parents never collide in a unique index, so top-level groups need their own.
            models.UniqueConstraint(
                fields=["organisation", "label"],
                condition=Q(parent__isnull=True),
                name="contactgroup_top_level_label_unique",
            ),
            models.CheckConstraint(condition=~Q(parent=models.F("id")), name="contactgroup_not_own_parent"),
        ]

    def __str__(self) -> str:
        return self.label


class ContactPoint(models.Model):
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="contact_points")
    group = models.ForeignKey(
        ContactGroup,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contact_points",
    )
    # The MeMo ContactPoint/contactPointID senders use to address it.
    contact_point_id = models.CharField(max_length=64)
    label = models.CharField(_("label"), max_length=200)
    info_text = models.TextField(_("info text"), blank=True)
    keywords = models.JSONField(default=list, blank=True)
    kle_codes = models.JSONField(default=list, blank=True)
    # Up to two free-text fields the writer fills in (e.g. "Case number").
    field1_label = models.CharField(max_length=100, blank=True)
    field1_required = models.BooleanField(default=False)
    field2_label = models.CharField(max_length=100, blank=True)
    field2_required = models.BooleanField(default=False)
    max_size_bytes = models.PositiveIntegerField(default=CITIZEN_MAX_BYTES)
    max_attachments = models.PositiveSmallIntegerField(default=CITIZEN_MAX_ATTACHMENTS)
    recipient_system = models.ForeignKey(
        "adminaccess.System",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="contact_points",
    )
    is_active = models.BooleanField(default=True)
    is_visible = models.BooleanField(default=True)
    # The stable part of the deep link the hub generates for this point.
    deep_link_key = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["label"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "contact_point_id"],
                name="contactpoint_id_unique_in_organisation",
            ),
            models.CheckConstraint(
                condition=Q(max_size_bytes__gte=1, max_size_bytes__lte=CITIZEN_MAX_BYTES),
                name="contactpoint_size_within_citizen_limit",
            ),
            models.CheckConstraint(
                condition=Q(max_attachments__lte=CITIZEN_MAX_ATTACHMENTS),
                name="contactpoint_attachments_within_limit",
            ),
            # A required field must have a label to show the writer.
            models.CheckConstraint(
                condition=Q(field1_required=False) | ~Q(field1_label=""),
                name="contactpoint_field1_labelled",
            ),
            models.CheckConstraint(
                condition=Q(field2_required=False) | ~Q(field2_label=""),
                name="contactpoint_field2_labelled",
            ),
        ]

    def __str__(self) -> str:
        return self.label


class RoutingRule(models.Model):
    """Routes mail for a contact point to another recipient system by KLE code or content.

    Rules are tried by ascending priority; the first that matches wins, else the contact
    point's own recipient system, else the organisation's default recipient system.
    """

    contact_point = models.ForeignKey(ContactPoint, on_delete=models.CASCADE, related_name="routing_rules")
    priority = models.PositiveSmallIntegerField(default=100)
    # A KLE code prefix such as "27.24" matches "27.24.00".
    kle_prefix = models.CharField(max_length=20, blank=True)
    # Or a MeMo AdditionalContentData key/value pair.
    content_key = models.CharField(max_length=100, blank=True)
    content_value = models.CharField(max_length=200, blank=True)
    recipient_system = models.ForeignKey("adminaccess.System", on_delete=models.CASCADE, related_name="+")

    class Meta:
        ordering = ["priority", "id"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(kle_prefix="") | ~Q(content_key=""), name="routingrule_has_a_condition"
            ),
        ]


class ImportJob(models.Model):
    """One upload of a contact-structure file: validated first, applied only when confirmed.

    The validate and apply tasks take the job's id and move it along ``status`` with a
    conditional update, so a task run twice (or a double-clicked confirm) does nothing more.
    """

    class Status(models.TextChoices):
        PENDING = "PENDING", _("Waiting to be checked")
        VALIDATING = "VALIDATING", _("Checking")
        INVALID = "INVALID", _("Has errors")
        VALID = "VALID", _("Ready to apply")
        APPLYING = "APPLYING", _("Applying")
        APPLIED = "APPLIED", _("Applied")
        FAILED = "FAILED", _("Failed")

    class Format(models.TextChoices):
        XLSX = "xlsx", "XLSX"
        CSV = "csv", "CSV"

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="contact_imports")
    created_by = models.ForeignKey(
        "rights.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # Who confirmed applying the file: the event log names them as the actor.
    confirmed_by = models.ForeignKey(
        "rights.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    finished_at = models.DateTimeField(null=True, blank=True)
    # Moved on by every progress write, so a job no task is working on can be told apart.
    updated_at = models.DateTimeField(default=timezone.now)
    file_name = models.CharField(max_length=255)
    file_format = models.CharField(max_length=4, choices=Format.choices)
    # The uploaded file itself (at most a few MB), emptied once it has been applied.
    data = models.BinaryField(blank=True, default=b"")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    total_rows = models.PositiveIntegerField(default=0)
    processed_rows = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    updated_count = models.PositiveIntegerField(default=0)
    unchanged_count = models.PositiveIntegerField(default=0)
    groups_created_count = models.PositiveIntegerField(default=0)
    # [{"row": 3, "column": "kle_codes", "message": "..."}]; row 0 is the file as a whole.
    errors = models.JSONField(default=list, blank=True)
    # Every error found; ``errors`` keeps only the first ones of a very bad file.
    error_count = models.PositiveIntegerField(default=0)
    # The uploader's language: the tasks write the report in it.
    language = models.CharField(max_length=10, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.file_name} ({self.status})"

    #: A step still running after this long has probably lost its task (broker or worker down).
    STUCK_AFTER = timedelta(minutes=2)

    @property
    def is_running(self) -> bool:
        return self.status in {self.Status.PENDING, self.Status.VALIDATING, self.Status.APPLYING}

    @property
    def looks_stuck(self) -> bool:
        return self.is_running and timezone.now() - self.updated_at > self.STUCK_AFTER

    @property
    def percent(self) -> int:
        if self.status in {self.Status.VALID, self.Status.INVALID, self.Status.APPLIED}:
            return 100
        return int(100 * self.processed_rows / self.total_rows) if self.total_rows else 0
