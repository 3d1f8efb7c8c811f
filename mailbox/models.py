"""Mailboxes, messages and the path of one message through the hub.

A :class:`Message` is one MeMo letter to one recipient: its header fields that matter for
querying, the stored MeMo, its state and value date. Where it sits in a mailbox, and whether
it has been read there, is a :class:`MailboxItem`, because the same letter can appear in two
mailboxes (the citizen's Sent folder and, for authority mail, the recipient's Inbox).

Delivery work is a :class:`Delivery` row written in the same transaction as the message (the
transactional outbox): the database, not the broker, is the record of what is owed to whom.
"""

from __future__ import annotations

import uuid

from django.contrib.postgres.search import SearchVectorField
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from mailbox.storage import memo_storage
from rights.models import Organisation, Person, User


class Mailbox(models.Model):
    """A Digital Post mailbox. Exactly one owner: a person, or an organisation."""

    class Status(models.TextChoices):
        ACTIVE = "ACTIVE", _("Active")
        CLOSED = "CLOSED", _("Closed")

    owner_person = models.OneToOneField(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="mailbox"
    )
    owner_organisation = models.OneToOneField(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="mailbox"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=(Q(owner_person__isnull=False) & Q(owner_organisation__isnull=True))
                | (Q(owner_person__isnull=True) & Q(owner_organisation__isnull=False)),
                name="mailbox_exactly_one_owner",
            ),
            models.CheckConstraint(
                condition=Q(status="ACTIVE", closed_at__isnull=True)
                | Q(status="CLOSED", closed_at__isnull=False),
                name="mailbox_closed_at_matches_status",
            ),
        ]
        verbose_name_plural = "mailboxes"

    def __str__(self) -> str:
        return f"Mailbox of {self.owner}"

    @property
    def owner(self) -> Person | Organisation:
        return self.owner_person or self.owner_organisation

    @property
    def owner_id_type(self) -> str:
        return "CPR" if self.owner_person_id else "CVR"

    @property
    def owner_identifier(self) -> str:
        return self.owner_person.cpr if self.owner_person_id else self.owner_organisation.cvr


class Exemption(models.Model):
    """Fritagelse: the owner gets no digital mail in this period; letters go to remote print."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="exemptions")
    reason = models.CharField(max_length=200)
    valid_from = models.DateField(default=timezone.localdate)
    valid_until = models.DateField(null=True, blank=True)
    print_address = models.TextField(blank=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(valid_until__isnull=True) | Q(valid_until__gte=models.F("valid_from")),
                name="exemption_period_ordered",
            ),
            models.UniqueConstraint(
                fields=["mailbox"],
                condition=Q(ended_at__isnull=True),
                name="exemption_one_open_per_mailbox",
            ),
        ]

    def covers(self, day) -> bool:
        return (
            self.ended_at is None
            and self.valid_from <= day
            and (self.valid_until is None or day <= self.valid_until)
        )


class Folder(models.Model):
    """A folder in a mailbox: the four standard ones, plus the owner's own."""

    class Kind(models.TextChoices):
        INBOX = "INBOX", _("Inbox")
        SENT = "SENT", _("Sent")
        DRAFTS = "DRAFTS", _("Drafts")
        BIN = "BIN", _("Bin")
        CUSTOM = "CUSTOM", _("Own folder")

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="folders")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    name = models.CharField(max_length=100)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["mailbox", "kind"],
                condition=~Q(kind="CUSTOM"),
                name="folder_one_of_each_standard_kind",
            ),
            models.UniqueConstraint(fields=["mailbox", "name"], name="folder_name_unique_in_mailbox"),
        ]
        ordering = ["kind", "name"]

    def __str__(self) -> str:
        return self.name


class Message(models.Model):
    """One MeMo letter to one recipient, and where it is on its way."""

    class MessageType(models.TextChoices):
        DIGITALPOST = "DIGITALPOST", "DIGITALPOST"
        NEMSMS = "NEMSMS", "NEMSMS"

    class State(models.TextChoices):
        # Accepted, waiting for its value date (doNotDeliverUntilDate).
        HELD = "HELD", _("Awaiting value date")
        # Ready for the delivery engine.
        ACCEPTED = "ACCEPTED", _("Accepted")
        DELIVERED = "DELIVERED", _("Delivered")
        RECALLED = "RECALLED", _("Recalled")
        # Could not be delivered and no fallback applies; staff see it.
        FAILED = "FAILED", _("Failed")

    class Channel(models.TextChoices):
        MAILBOX = "MAILBOX", _("Mailbox")
        RECIPIENT_SYSTEM = "RECIPIENT_SYSTEM", _("Recipient system")
        REMOTE_PRINT = "REMOTE_PRINT", _("Remote print")
        NEMSMS = "NEMSMS", _("NemSMS")

    message_uuid = models.UUIDField()
    memo_version = models.CharField(max_length=3, choices=[("1.1", "1.1"), ("1.2", "1.2")])
    message_type = models.CharField(
        max_length=12, choices=MessageType.choices, default=MessageType.DIGITALPOST
    )
    message_id = models.CharField(max_length=256, blank=True)
    message_code = models.CharField(max_length=256, blank=True)
    label = models.CharField(max_length=256)
    notification = models.CharField(max_length=160, blank=True)
    reply_allowed = models.BooleanField(default=False)
    reply_by = models.DateTimeField(null=True, blank=True)
    value_date = models.DateField(null=True, blank=True, help_text="MeMo doNotDeliverUntilDate")
    mandatory = models.BooleanField(default=False)
    legal_notification = models.BooleanField(default=False)
    post_type = models.CharField(max_length=64, blank=True)

    # Who sent it: an organisation through a sender system (API or test portal), or a person
    # or organisation writing from its mailbox.
    sender_id_type = models.CharField(max_length=10)
    sender_id = models.CharField(max_length=64)
    sender_label = models.CharField(max_length=256, blank=True)
    # Every index on this table is written again whenever a message changes state (millions on a
    # mass-send date), so columns searched only through a composite index get none of their own:
    # the unique (sender, messageUUID) indexes below start with these two.
    sender_organisation = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sent_messages",
        db_index=False,
    )
    sender_person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.PROTECT, related_name="sent_messages", db_index=False
    )
    sender_system = models.ForeignKey(
        "adminaccess.System",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sent_messages",
        db_index=False,
    )
    # Someone writing on the owner's behalf (read-write access), shown to the owner.
    sent_by_representative = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )

    recipient_id_type = models.CharField(max_length=10)
    recipient_id = models.CharField(max_length=64)
    recipient_label = models.CharField(max_length=256, blank=True)
    # Nullable foreign keys are indexed partially (below, WHERE ... IS NOT NULL): they are only
    # ever looked up by value, and most letters leave most of them empty.
    recipient_mailbox = models.ForeignKey(
        Mailbox,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="received_messages",
        db_index=False,
    )
    recipient_organisation = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="received_messages",
        db_index=False,
    )
    contact_point = models.ForeignKey(
        "contactstructure.ContactPoint",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="messages",
        db_index=False,
    )
    # The recipient system it was routed to (authority mail, or a company with a system).
    recipient_system = models.ForeignKey(
        "adminaccess.System",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="routed_messages",
        db_index=False,
    )
    channel = models.CharField(max_length=20, choices=Channel.choices)
    kle_code = models.CharField(max_length=20, blank=True)
    reply_to = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="replies", db_index=False
    )

    state = models.CharField(max_length=10, choices=State.choices)
    # The MeMo as received (or as the hub built it), in the "memo" storage: the database by
    # default (StoredFile), so that a message and its MeMo are committed together (settings:
    # STORAGES["memo"]).
    memo_file = models.FileField(upload_to="memo/%Y/%m/%d/", max_length=255, storage=memo_storage)
    memo_size = models.PositiveBigIntegerField()
    # Lets a resend of the same message be recognised without reading the stored file.
    memo_sha256 = models.CharField(max_length=64)
    # A letter taken in by the send API gets its documents, files and actions (the rows the
    # inbox shows) from the stored MeMo when it is delivered, not in the request that accepts
    # it; True until then (mailbox/services.py: message_documents_build). Every other way in
    # stores them with the message.
    documents_pending = models.BooleanField(default=False)
    transmission_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    delivered_at = models.DateTimeField(null=True, blank=True)
    recalled_at = models.DateTimeField(null=True, blank=True)
    recalled_by = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )

    class Meta:
        constraints = [
            # messageUUID makes sending idempotent per sending party.
            models.UniqueConstraint(
                fields=["sender_organisation", "message_uuid"],
                condition=Q(sender_organisation__isnull=False),
                name="message_uuid_unique_per_sending_organisation",
            ),
            models.UniqueConstraint(
                fields=["sender_person", "message_uuid"],
                condition=Q(sender_person__isnull=False),
                name="message_uuid_unique_per_sending_person",
            ),
            models.CheckConstraint(
                condition=Q(sender_organisation__isnull=False) | Q(sender_person__isnull=False),
                name="message_has_a_sender",
            ),
            models.CheckConstraint(
                condition=~Q(channel="MAILBOX") | Q(recipient_mailbox__isnull=False),
                name="message_mailbox_channel_has_mailbox",
            ),
            models.CheckConstraint(
                condition=~Q(state="HELD") | Q(value_date__isnull=False),
                name="message_held_only_with_value_date",
            ),
            models.CheckConstraint(
                condition=Q(state="DELIVERED", delivered_at__isnull=False) | ~Q(state="DELIVERED"),
                name="message_delivered_has_time",
            ),
            models.CheckConstraint(
                condition=Q(state="RECALLED", recalled_at__isnull=False) | ~Q(state="RECALLED"),
                name="message_recalled_has_time",
            ),
        ]
        indexes = [
            # Value-date release finds held messages due on or before today (set-based sweep), and
            # takes them in mailbox order, so that its inserts walk the inbox indexes in order
            # instead of touching a random page of each for every letter (mailbox/release.py).
            models.Index(
                fields=["value_date", "recipient_mailbox"],
                condition=Q(state="HELD"),
                name="message_held_by_value_date",
            ),
            # A recipient system fetches its mail by messageUUID. Every other lookup by UUID is
            # within one sender (the unique constraints above serve it), so mailbox mail, nearly
            # all of a mass send, is left out: a random UUID costs an index page per letter on
            # every insert and on every update that moves the row (delivery, release).
            models.Index(
                fields=["message_uuid"],
                condition=Q(recipient_system__isnull=False),
                name="message_uuid_to_system_idx",
            ),
            # The nullable foreign keys, without the NULL rows: a message changing state (a
            # million on a mass-send date) writes none of these entries it leaves empty.
            *(
                models.Index(fields=[field], condition=Q(**{f"{field}__isnull": False}), name=name)
                for field, name in [
                    ("sender_system", "message_sender_system_idx"),
                    ("recipient_mailbox", "message_recipient_mailbox_idx"),
                    ("recipient_organisation", "message_recipient_org_idx"),
                    ("contact_point", "message_contact_point_idx"),
                    ("recipient_system", "message_recipient_system_idx"),
                    ("reply_to", "message_reply_to_idx"),
                ]
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} ({self.message_uuid})"


class MailboxItem(models.Model):
    """A message as it sits in one mailbox: folder, read state, flag."""

    # No index of its own: the unique (mailbox, message) and the folder index start with it.
    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="items", db_index=False)
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="mailbox_items")
    folder = models.ForeignKey(Folder, on_delete=models.PROTECT, related_name="items")
    # The folder to go back to when restored from the bin.
    previous_folder = models.ForeignKey(
        Folder, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    received_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    flagged = models.BooleanField(default=False)
    # A legal notification records when the recipient first opened it.
    legal_notification_read_at = models.DateTimeField(null=True, blank=True)
    deleted_at = models.DateTimeField(null=True, blank=True, help_text="Emptied from the bin")
    # Copied from the message so that sorting a folder by it reads this table's index alone.
    party = models.CharField(
        max_length=256,
        blank=True,
        help_text="Who the letter is with: its sender, or for a letter this mailbox sent, its recipient",
    )
    # The message's label, copied for the same reason: sorting a folder by title.
    title = models.CharField(max_length=256, blank=True, help_text="The letter's title (its MeMo label)")

    class Meta:
        constraints = [
            # Delivering twice must be impossible, not merely unlikely.
            models.UniqueConstraint(fields=["mailbox", "message"], name="mailboxitem_once_per_mailbox"),
        ]
        indexes = [
            # The inbox listing: one folder, newest first.
            models.Index(fields=["mailbox", "folder", "-received_at"], name="mailboxitem_folder_idx"),
            # Unread counts per folder.
            models.Index(
                fields=["mailbox", "folder"],
                condition=Q(read_at__isnull=True),
                name="mailboxitem_unread_idx",
            ),
            # A folder sorted by who the letter is with, newest first within each.
            models.Index(
                F("mailbox"),
                F("folder"),
                Lower("party"),
                F("received_at").desc(),
                name="mailboxitem_party_idx",
            ),
            # A folder sorted by title.
            models.Index(
                F("mailbox"),
                F("folder"),
                Lower("title"),
                F("received_at").desc(),
                name="mailboxitem_title_idx",
            ),
        ]

    def save(self, *args, **kwargs):
        if self.message_id and not (self.party and self.title):
            # A copy in a mailbox the message was not delivered to is the sender's own.
            sent = self.message.recipient_mailbox_id != self.mailbox_id
            self.party = self.party or self.party_of(self.message, sent=sent)
            self.title = self.title or self.message.label
        super().save(*args, **kwargs)

    @staticmethod
    def party_of(message: Message, *, sent: bool = False) -> str:
        """The :attr:`party` of ``message``: its sender, or if ``sent`` (the item is the sender's
        own copy), its recipient. The name where the MeMo gave one, else the CPR/CVR."""
        if sent:
            return message.recipient_label or message.recipient_id
        return message.sender_label or message.sender_id


class Document(models.Model):
    """A MeMo document: the main document, an attachment, or a technical document."""

    class Kind(models.TextChoices):
        MAIN = "MAIN", _("Main document")
        ADDITIONAL = "ADDITIONAL", _("Attachment")
        TECHNICAL = "TECHNICAL", _("Technical document")

    # No index of its own: the unique (message, position) constraint starts with the message and
    # serves every lookup by it (each stored document writes one index entry fewer).
    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="documents", db_index=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    position = models.PositiveSmallIntegerField()
    document_id = models.CharField(max_length=256, blank=True)
    label = models.CharField(max_length=256)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["message", "position"], name="document_position_unique"),
            models.UniqueConstraint(
                fields=["message"], condition=Q(kind="MAIN"), name="document_one_main_per_message"
            ),
        ]


class DocumentFile(models.Model):
    """One file of a document; the bytes live in storage, not in the database."""

    # No index of its own: the unique (document, position) constraint serves lookups by document.
    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="files", db_index=False)
    position = models.PositiveSmallIntegerField()
    filename = models.CharField(max_length=255)
    mime_type = models.CharField(max_length=255)
    language = models.CharField(max_length=2, blank=True)
    size = models.PositiveBigIntegerField()
    # Both empty until the file is first needed and extracted from the stored MeMo
    # (mailbox.services.document_file_content): ingest writes only the MeMo itself.
    sha256 = models.CharField(max_length=64, blank=True)
    content = models.FileField(upload_to="documents/%Y/%m/%d/", max_length=255, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["document", "position"], name="documentfile_position_unique"),
        ]


class Action(models.Model):
    """A MeMo action on a document: pay, sign up, book, self-service... with its deadline."""

    document = models.ForeignKey(Document, on_delete=models.CASCADE, related_name="actions")
    position = models.PositiveSmallIntegerField()
    label = models.CharField(max_length=100)
    action_code = models.CharField(max_length=32)
    start_at = models.DateTimeField(null=True, blank=True)
    end_at = models.DateTimeField(null=True, blank=True)
    url = models.URLField(max_length=256, blank=True)
    # A calendar reservation (appointment) as read from MeMo; rendered to .ics on demand.
    reservation = models.JSONField(null=True, blank=True)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.CheckConstraint(
                condition=Q(url="") | Q(reservation__isnull=True), name="action_url_or_reservation"
            ),
        ]


class Delivery(models.Model):
    """The outbox row: what the hub owes for one message, written with the message itself.

    A worker claims a row with a conditional UPDATE on ``state`` and only then does the work,
    so two workers (or one task run twice) cannot deliver the same message twice.
    """

    class State(models.TextChoices):
        HELD = "HELD", _("Waiting for value date")
        PENDING = "PENDING", _("Pending")
        IN_PROGRESS = "IN_PROGRESS", _("In progress")
        # Pull systems: waiting for the recipient system to fetch and send its receipt.
        READY_FOR_FETCH = "READY_FOR_FETCH", _("Ready for fetch")
        DONE = "DONE", _("Done")
        FAILED = "FAILED", _("Failed")
        CANCELLED = "CANCELLED", _("Cancelled")

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="delivery")
    channel = models.CharField(max_length=20, choices=Message.Channel.choices)
    state = models.CharField(max_length=16, choices=State.choices)
    due_at = models.DateTimeField(default=timezone.now)
    recipient_system = models.ForeignKey(
        "adminaccess.System",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="deliveries",
        db_index=False,
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        verbose_name_plural = "deliveries"
        indexes = [
            # The delivery sweep: pending work that is due. Kept small by the condition.
            models.Index(
                fields=["next_attempt_at"],
                condition=Q(state="PENDING"),
                name="delivery_pending_due_idx",
            ),
            # Pull: what a recipient system may fetch, oldest first.
            models.Index(
                fields=["recipient_system", "created_at"],
                condition=Q(state="READY_FOR_FETCH"),
                name="delivery_ready_for_fetch_idx",
            ),
            # The sweep that recovers rows a dead worker left claimed.
            models.Index(fields=["claimed_at"], condition=Q(state="IN_PROGRESS"), name="delivery_stuck_idx"),
            # Mailbox mail has no recipient system: those rows get no entry here.
            models.Index(
                fields=["recipient_system"],
                condition=Q(recipient_system__isnull=False),
                name="delivery_recipient_system_idx",
            ),
        ]


class DeliveryAttempt(models.Model):
    """One try at delivering: push POST, mailbox insert, print export."""

    class Outcome(models.TextChoices):
        SUCCESS = "SUCCESS", _("Success")
        TEMPORARY_FAILURE = "TEMPORARY_FAILURE", _("Temporary failure")
        PERMANENT_FAILURE = "PERMANENT_FAILURE", _("Permanent failure")

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="attempt_rows")
    recipient_system = models.ForeignKey(
        "adminaccess.System",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="delivery_attempts",
    )
    attempted_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        indexes = [
            # The seven-day rule asks: did this system receive anything since ...?
            models.Index(fields=["recipient_system", "outcome", "-attempted_at"], name="attempt_system_idx"),
        ]


class Receipt(models.Model):
    """A receipt for a sender system: technical (on receipt), business (from the recipient)
    or the result of a batch. Senders read them from their receipt queue."""

    class Kind(models.TextChoices):
        TECHNICAL = "TECHNICAL", _("Technical receipt")
        BUSINESS = "BUSINESS", _("Business receipt")
        BATCH = "BATCH", _("Batch result")

    class Status(models.TextChoices):
        NOT_ALLOWED = "NOT_ALLOWED", "NOT_ALLOWED"
        INVALID = "INVALID", "INVALID"
        RECEIVED = "RECEIVED", "RECEIVED"
        COMPLETED = "COMPLETED", "COMPLETED"

    receipt_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    sender_system = models.ForeignKey(
        "adminaccess.System",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="receipts",
    )
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="receipts")
    message = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.SET_NULL, related_name="receipts"
    )
    message_uuid = models.UUIDField(null=True, blank=True)
    transmission_id = models.UUIDField(default=uuid.uuid4)
    status = models.CharField(max_length=12, choices=Status.choices)
    error_code = models.CharField(max_length=64, blank=True)
    error_message = models.TextField(blank=True)
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # In the sender's queue until fetched with delete=true.
    in_queue = models.BooleanField(default=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["sender_system", "created_at"],
                condition=Q(in_queue=True),
                name="receipt_queue_idx",
            ),
        ]


class Notification(models.Model):
    """A notification about new mail: e-mail, SMS, or the NemSMS message itself."""

    class Channel(models.TextChoices):
        EMAIL = "EMAIL", _("E-mail")
        SMS = "SMS", _("SMS")
        NEMSMS = "NEMSMS", _("NemSMS")

    class State(models.TextChoices):
        PENDING = "PENDING", _("Pending")
        SENT = "SENT", _("Sent")
        FAILED = "FAILED", _("Failed")

    # No index of its own: the unique constraint below starts with the message and serves every
    # lookup by it (a release of a million letters writes a row here for each one notified).
    message = models.ForeignKey(
        Message, on_delete=models.CASCADE, related_name="notifications", db_index=False
    )
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.CASCADE, related_name="notifications"
    )
    channel = models.CharField(max_length=8, choices=Channel.choices)
    address = models.CharField(max_length=254)
    state = models.CharField(max_length=8, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["message", "channel", "address"],
                name="notification_once_per_channel_and_address",
            ),
        ]
        indexes = [
            models.Index(
                fields=["created_at"], condition=Q(state="PENDING"), name="notification_pending_idx"
            ),
        ]


class PrintJob(models.Model):
    """A letter for remote print (fjernprint): rendered to PDF, exported in batches."""

    class State(models.TextChoices):
        PENDING = "PENDING", _("Pending")
        RENDERED = "RENDERED", _("Rendered")
        EXPORTED = "EXPORTED", _("Handed to print provider")
        FAILED = "FAILED", _("Failed")

    message = models.OneToOneField(Message, on_delete=models.CASCADE, related_name="print_job")
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    address = models.TextField()
    pdf = models.FileField(upload_to="print/%Y/%m/%d/", blank=True, max_length=255)
    # Documents that could not be printed (e.g. a spreadsheet): reported, never dropped silently.
    problems = models.JSONField(default=list, blank=True)
    batch = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    exported_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["created_at"], condition=Q(state="RENDERED"), name="printjob_to_export_idx"),
        ]


class Draft(models.Model):
    """A letter being written in the inbox and not yet sent: to a contact point, or a reply.

    A draft belongs to the mailbox it is written in and to the person writing it: a
    representative's drafts are theirs, not the owner's. Its ``message_uuid`` becomes the
    sent message's, so sending one draft twice (a double click) sends one letter.
    """

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="drafts", db_index=False)
    author = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="drafts", db_index=False)
    contact_point = models.ForeignKey(
        "contactstructure.ContactPoint", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    reply_to = models.ForeignKey(
        Message, null=True, blank=True, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    label = models.CharField(max_length=256, blank=True)
    text = models.TextField(blank=True)
    field1 = models.CharField(max_length=256, blank=True)
    field2 = models.CharField(max_length=256, blank=True)
    message_uuid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(contact_point__isnull=True, reply_to__isnull=False)
                | Q(contact_point__isnull=False, reply_to__isnull=True),
                name="draft_to_a_contact_point_or_a_reply",
            ),
        ]
        indexes = [
            # The drafts list: one writer's drafts in one mailbox, newest first.
            models.Index(fields=["mailbox", "author", "-updated_at"], name="draft_list_idx"),
        ]


class DraftAttachment(models.Model):
    """A file attached to a draft, kept in storage until the draft is sent or deleted."""

    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="attachments")
    position = models.PositiveSmallIntegerField()
    filename = models.CharField(max_length=255)
    mime_type = models.CharField(max_length=255)
    size = models.PositiveBigIntegerField()
    content = models.FileField(upload_to="drafts/%Y/%m/%d/", max_length=255)

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["draft", "position"], name="draftattachment_position_unique"),
        ]


class MessageText(models.Model):
    """The searchable text of a delivered message's documents (see mailbox/search.py).

    Filled in by a task queued after delivery, never on the ingest or release path; the
    ``index_messages`` sweep catches up on anything a lost task left. Until a message has a
    row here its title and sender are still searched, straight from the message row.
    """

    message = models.OneToOneField(
        Message, primary_key=True, on_delete=models.CASCADE, related_name="search_text"
    )
    # Plain text of the documents (text, HTML stripped, PDF), capped; title and sender are not in it.
    text = models.TextField(blank=True)
    # PostgreSQL only: title, sender and text as one tsvector, with a GIN index (created by the
    # migration on PostgreSQL only). NULL on SQLite, where search falls back to icontains.
    vector = SearchVectorField(null=True, blank=True)
    # Files whose text could not be read, e.g. a damaged PDF: reported, never retried forever.
    problems = models.JSONField(default=list, blank=True)
    indexed_at = models.DateTimeField(default=timezone.now)


class Batch(models.Model):
    """A batch upload taken into the hub's care: answered at once, then judged chunk by chunk.

    The upload's files are kept in chunk files (:class:`BatchChunk`) until each chunk is
    judged, each in one transaction with the messages and receipts it produced, so an
    accepted batch is never lost and never judged twice. When the last chunk is done, the
    summary receipt goes to the sender's queue.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sender_system = models.ForeignKey("adminaccess.System", on_delete=models.CASCADE, related_name="batches")
    total = models.PositiveIntegerField(help_text="Files in the upload")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "batches"


class BatchChunk(models.Model):
    """Up to :data:`mailbox.batches.CHUNK_FILES` files of a batch, judged together."""

    batch = models.ForeignKey(Batch, on_delete=models.CASCADE, related_name="chunks")
    position = models.PositiveIntegerField()
    # A plain tar of the chunk's files; deleted once the chunk is judged.
    file = models.FileField(upload_to="batches/", max_length=200)
    files = models.PositiveIntegerField()
    queued_at = models.DateTimeField(default=timezone.now)
    # When a worker last took it, and how many times one has (a chunk that keeps failing is
    # given up after a few, its files refused, so the batch still finishes).
    started_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    done_at = models.DateTimeField(null=True, blank=True)
    # How many files came out RECEIVED, DUPLICATE, NOT_ALLOWED and INVALID.
    outcomes = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["batch", "position"], name="batchchunk_position_unique"),
        ]
        indexes = [
            # The sweep: chunks not yet judged.
            models.Index(
                fields=["queued_at"], condition=Q(done_at__isnull=True), name="batchchunk_pending_idx"
            ),
        ]


class StoredFile(models.Model):
    """A file kept in the database by :class:`mailbox.storage.DatabaseStorage`: the stored
    MeMo of every message where STORAGES["memo"] says so (the default). Written in the same
    transaction as the rows it belongs to, it can never be missing from a committed message
    nor be left behind by a rolled-back one, and it is in every backup of the database."""

    name = models.CharField(max_length=255)
    # Compressed with lz4 on PostgreSQL where the server has it (migration 0016): a fraction
    # of the CPU of the default pglz, for a slightly larger row.
    content = models.BinaryField()
    size = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        # A constraint, not unique=True: that would add a second, pattern-matching index on
        # the name, which every stored MeMo would pay for and nothing needs.
        constraints = [models.UniqueConstraint(fields=["name"], name="storedfile_name_unique")]

    def __str__(self) -> str:
        return self.name
