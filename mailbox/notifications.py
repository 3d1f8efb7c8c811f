"""Telling people about new mail: e-mail, SMS, and NemSMS messages themselves.

Who is told, once a message is in a mailbox:

- a person's mailbox: the owner, at their verified e-mail (EMAIL) and their verified mobile
  (SMS); one, both or none, as they have set up;
- an organisation's mailbox: every person with a live EMPLOYEE access to it, at their verified
  e-mail. The organisation's technical contact is for system warnings, never for mail;
- a NemSMS message: exactly one NEMSMS row to the owner's registered NemSMS number, carrying
  the MeMo notification text. Sending it *is* delivering the message; no e-mail or SMS besides.

A notification is a row, unique on (message, channel, address), so creating twice is harmless.
One message is handled by :func:`notifications_create` (with the ORM); many at a time by
:func:`notifications_create_for_messages`, which is one ``INSERT ... SELECT`` however many
messages there are. Both apply the same rules, and the tests run every rule through both. The
value-date release on PostgreSQL runs that same SQL (``NOTIFICATIONS_FROM_BATCH``) inside its
own statement, over the rows it has just released (mailbox/release.py).

Sending (:func:`notification_send`) locks the row with ``SELECT ... FOR UPDATE SKIP LOCKED`` in
a transaction that spans the one outbound call, which its timeout bounds. Another worker skips
a locked row; one that comes after the commit finds it SENT, FAILED, or one attempt further and
not yet due. (SQLite has no row locks; its IMMEDIATE transactions make workers take turns.) The
outcome is written with a conditional UPDATE on (PENDING, attempts read) that must change
exactly one row. A worker that dies mid-send rolls back: the row stays as it was and the sweep
sends it again, so a notification is sent at least once, and twice only after such a crash.

Retries, without a column for them: a temporary failure adds one to ``attempts``; the row is
due again ``RETRY_BASE * (2**attempts - 1)`` after it was *created* (2, 6, 14, 30 minutes...).
If the first try came late (a backlog), the retries that are already due are still one sweep
(30 s) apart at least. At ``DIGITALPOST_NOTIFICATION_MAX_ATTEMPTS`` tries, or at once on a
permanent failure, the row is FAILED and the event log says why.
"""

from __future__ import annotations

import contextlib
import json
import logging
import smtplib
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from adminaccess.models import Event
from adminaccess.services import event_log_write
from digitalpost.queueing import enqueue_after_commit
from mailbox.models import Delivery, Mailbox, Message, Notification
from mailbox.sms import SMSBackend, SMSError, SMSPermanentError, get_sms_backend
from rights.models import MailboxAccess, Person

log = logging.getLogger(__name__)

#: The first retry waits this long after the row was created; each further one twice as long.
RETRY_BASE = timedelta(minutes=2)
#: Rows one sweep takes, oldest first.
SEND_BATCH = 500
#: Seconds an SMTP conversation may take, unless settings.EMAIL_TIMEOUT says otherwise.
EMAIL_TIMEOUT = 10

Channel = Notification.Channel
State = Notification.State

TEXTS = {
    "da": {
        "subject": "Du har fået ny Digital Post fra {sender}",
        "intro": "Du har fået ny Digital Post fra {sender}.",
        "label": "Titel: {label}",
        "mailbox": "Postkasse: {mailbox}",
        "link": "Log ind og læs brevet på {url}",
        "footer": (
            "Af hensyn til din sikkerhed sender vi aldrig brevets indhold med e-mail. "
            "Denne e-mail kan ikke besvares."
        ),
        "sms": "Du har fået ny Digital Post fra {sender}. Læs den på {url}",
    },
    "en": {
        "subject": "You have new Digital Post from {sender}",
        "intro": "You have new Digital Post from {sender}.",
        "label": "Title: {label}",
        "mailbox": "Mailbox: {mailbox}",
        "link": "Log in to read it at {url}",
        "footer": (
            "For your security, the contents of the letter are never sent by e-mail. "
            "This e-mail cannot be answered."
        ),
        "sms": "You have new Digital Post from {sender}. Read it at {url}",
    },
}


# --- Who is told -------------------------------------------------------------------------------


def notifications_create(*, message: Message, mailbox: Mailbox | None = None) -> list[Notification]:
    """Record who must be told about ``message`` in ``mailbox`` (default: its recipient's).

    Safe to call again: existing rows are kept, and all of them are returned. Each row that is
    still pending is queued for sending once the caller's transaction commits.
    """
    mailbox = mailbox or message.recipient_mailbox
    wanted = _recipients(message, mailbox) if mailbox is not None else []
    if not wanted:
        return []
    Notification.objects.bulk_create(
        [
            Notification(message=message, person=person, channel=channel, address=address)
            for person, channel, address in wanted
        ],
        ignore_conflicts=True,
    )
    which = Q()
    for _, channel, address in wanted:
        which |= Q(channel=channel, address=address)
    notifications = list(Notification.objects.filter(which, message=message).order_by("pk"))
    from mailbox.tasks import send_notification  # the tasks module imports this one

    for notification in notifications:
        if notification.state == State.PENDING:
            enqueue_after_commit(send_notification, notification.pk)
    return notifications


def _recipients(message: Message, mailbox: Mailbox) -> list[tuple[Person, str, str]]:
    """(person, channel, address) for everyone to tell; the SQL below must agree with this."""
    owner = mailbox.owner_person
    if message.message_type == Message.MessageType.NEMSMS:
        if owner is None or not owner.nemsms_mobile:
            return []
        return [(owner, Channel.NEMSMS, owner.nemsms_mobile)]
    if owner is not None:
        wanted = []
        if owner.email_verified and owner.email:
            wanted.append((owner, Channel.EMAIL, owner.email))
        if owner.mobile_verified and owner.mobile:
            wanted.append((owner, Channel.SMS, owner.mobile))
        return wanted
    now = timezone.now()
    accesses = (
        MailboxAccess.objects.filter(
            mailbox=mailbox,
            kind=MailboxAccess.Kind.EMPLOYEE,
            revoked_at__isnull=True,
            grantee__email_verified=True,
        )
        .exclude(grantee__email="")
        .select_related("grantee")
        .order_by("pk")
    )
    return [(a.grantee, Channel.EMAIL, a.grantee.email) for a in accesses if a.is_active(now)]


# One statement for a whole batch of messages, whatever its size. Each branch is one rule of
# _recipients(); ON CONFLICT makes it idempotent, and also keeps one row when two employees
# share an address. The messages come from a relation named ``batch`` (id,
# recipient_mailbox_id, message_type), read once: a CTE over the ids here, and in the
# value-date release the rows its UPDATE returned (mailbox/release.py), so the release does
# not look its own messages up again. (The WITH goes after INSERT INTO: SQLite reports no row
# count for a statement that starts with WITH.)
NOTIFICATIONS_INSERT = """
INSERT INTO mailbox_notification
    (message_id, person_id, channel, address, state, attempts, error, created_at)
"""
NOTIFICATIONS_FROM_BATCH = """
SELECT message_id, person_id, channel, address, %(pending)s, 0, '', %(now)s
FROM (
    SELECT m.id AS message_id, p.id AS person_id, %(email)s AS channel, p.email AS address
    FROM batch m
    JOIN mailbox_mailbox b ON b.id = m.recipient_mailbox_id
    JOIN rights_person p ON p.id = b.owner_person_id
    WHERE m.message_type <> %(nemsms_type)s AND p.email_verified = %(true)s AND p.email <> ''
  UNION ALL
    SELECT m.id, p.id, %(sms)s, p.mobile
    FROM batch m
    JOIN mailbox_mailbox b ON b.id = m.recipient_mailbox_id
    JOIN rights_person p ON p.id = b.owner_person_id
    WHERE m.message_type <> %(nemsms_type)s AND p.mobile_verified = %(true)s AND p.mobile <> ''
  UNION ALL
    SELECT m.id, p.id, %(email)s, p.email
    FROM batch m
    JOIN mailbox_mailbox b ON b.id = m.recipient_mailbox_id AND b.owner_organisation_id IS NOT NULL
    JOIN rights_mailboxaccess a ON a.mailbox_id = b.id
    JOIN rights_person p ON p.id = a.grantee_id
    WHERE m.message_type <> %(nemsms_type)s
      AND a.kind = %(employee)s AND a.revoked_at IS NULL AND a.valid_from <= %(now)s
      AND (a.valid_until IS NULL OR a.valid_until > %(now)s)
      AND p.email_verified = %(true)s AND p.email <> ''
  UNION ALL
    SELECT m.id, p.id, %(nemsms)s, p.nemsms_mobile
    FROM batch m
    JOIN mailbox_mailbox b ON b.id = m.recipient_mailbox_id
    JOIN rights_person p ON p.id = b.owner_person_id
    WHERE m.message_type = %(nemsms_type)s AND p.nemsms_mobile <> ''
) wanted
WHERE 1 = 1
ON CONFLICT DO NOTHING
"""

_BATCH_BY_IDS = """
WITH batch AS MATERIALIZED (
    SELECT id, recipient_mailbox_id, message_type FROM mailbox_message WHERE id {ids}
)
"""
_CREATE_FOR_MESSAGES = NOTIFICATIONS_INSERT + _BATCH_BY_IDS + NOTIFICATIONS_FROM_BATCH


def notification_batch_params(now: datetime) -> dict:
    """The parameters of :data:`NOTIFICATIONS_FROM_BATCH`, bar the messages."""
    return {
        "now": connection.ops.adapt_datetimefield_value(now),
        "true": True,
        "pending": State.PENDING,
        "email": Channel.EMAIL,
        "sms": Channel.SMS,
        "nemsms": Channel.NEMSMS,
        "nemsms_type": Message.MessageType.NEMSMS,
        "employee": MailboxAccess.Kind.EMPLOYEE,
    }


def notifications_create_for_messages(*, message_ids: list[int]) -> int:
    """Record who must be told about each of many delivered messages, in one statement.

    For mail delivered in bulk. Safe to call again. Nothing is queued per row: the send sweep
    (beat, every 30 s) picks the rows up. Returns how many rows were new.
    """
    if not message_ids:
        return 0
    if connection.vendor == "postgresql":
        ids, ids_param = "= ANY(%(ids)s)", list(message_ids)
    else:
        ids, ids_param = "IN (SELECT value FROM json_each(%(ids)s))", json.dumps(list(message_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            _CREATE_FOR_MESSAGES.format(ids=ids),
            {"ids": ids_param, **notification_batch_params(timezone.now())},
        )
        return cursor.rowcount


# --- Sending -----------------------------------------------------------------------------------


def retry_delay(attempts: int) -> timedelta:
    """How long after its creation a row that has been tried ``attempts`` times is due again."""
    return RETRY_BASE * (2**attempts - 1)


def _due(now: datetime) -> Q:
    """Pending rows that may be tried now. Rows past the maximum (it was lowered) get one more."""
    last = max(settings.DIGITALPOST_NOTIFICATION_MAX_ATTEMPTS - 1, 0)
    due = Q(attempts=0) | Q(attempts__gte=last, created_at__lte=now - retry_delay(last))
    for attempts in range(1, last):
        due |= Q(attempts=attempts, created_at__lte=now - retry_delay(attempts))
    return Q(state=State.PENDING) & due


def notification_send(
    *,
    notification_id: int,
    now: datetime | None = None,
    mail_connection=None,
    sms_backend: SMSBackend | None = None,
) -> str:
    """Try to send one notification if it is pending and due. Safe to call any number of times.

    Returns "sent", "retry" (temporary failure, tried again later), "failed" or "skipped"
    (not pending, not due, or another worker has it). ``mail_connection`` and ``sms_backend``
    let a sweep reuse one connection for many rows.
    """
    now = now or timezone.now()
    with transaction.atomic():
        rows = Notification.objects.filter(_due(now), pk=notification_id).select_related(
            "person",
            "message__sender_organisation",
            "message__sender_person",
            "message__recipient_mailbox__owner_organisation",
        )
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True, of=("self",))
        notification = rows.first()
        if notification is None:
            return "skipped"
        error, permanent = _try_send(notification, mail_connection, sms_backend)
        return _record(notification, now, error, permanent)


def _try_send(notification: Notification, mail_connection, sms_backend) -> tuple[str, bool]:
    """Send; return ("", False) on success, else (error text, whether it is permanent)."""
    message = notification.message
    try:
        if message.state == Message.State.RECALLED:
            raise SMSPermanentError("The message was recalled before it was sent.")
        if notification.channel == Channel.EMAIL:
            _send_email(notification, mail_connection)
        else:
            text = _sms_text(notification)
            if not text:
                raise SMSPermanentError("The NemSMS message has no text.")
            (sms_backend or get_sms_backend()).send(notification.address, text)
    except SMSError as exc:
        return _error_text(exc), isinstance(exc, SMSPermanentError)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        return _error_text(exc), bool(codes) and all(code >= 500 for code in codes)
    except smtplib.SMTPResponseException as exc:
        return _error_text(exc), exc.smtp_code >= 500
    except (smtplib.SMTPException, OSError) as exc:
        return _error_text(exc), False
    except Exception as exc:
        # Unexpected (a backend's bug, a time limit): count it as a try, so it cannot block the
        # queue, and keep the traceback.
        log.exception("Sending notification %s failed unexpectedly", notification.pk)
        return _error_text(exc), False
    return "", False


def _record(notification: Notification, now: datetime, error: str, permanent: bool) -> str:
    attempts = notification.attempts + 1
    if not error:
        outcome, fields = "sent", {"state": State.SENT, "sent_at": now, "error": ""}
    elif permanent or attempts >= settings.DIGITALPOST_NOTIFICATION_MAX_ATTEMPTS:
        outcome, fields = "failed", {"state": State.FAILED, "error": error}
    else:
        outcome, fields = "retry", {"error": error}
    changed = Notification.objects.filter(
        pk=notification.pk, state=State.PENDING, attempts=notification.attempts
    ).update(attempts=attempts, **fields)
    if changed != 1:  # cannot happen under the row lock; never record an outcome twice
        return "skipped"
    message = notification.message
    details = {
        "channel": notification.channel,
        "address": mask_address(notification.channel, notification.address),
    }
    refs = {"organisation": message.sender_organisation, "message": message, "subject": message.recipient_id}
    if outcome == "sent":
        event_log_write(tag=Event.Tag.NOTIFICATION_SENT, details=details, **refs)
    elif outcome == "failed":
        event_log_write(
            tag=Event.Tag.NOTIFICATION_FAILED,
            details={**details, "error": error, "attempts": attempts},
            **refs,
        )
    else:
        log.warning("Notification %s failed (try %s), will retry: %s", notification.pk, attempts, error)
    if notification.channel == Channel.NEMSMS and outcome != "retry":
        _finish_nemsms(message, now, error)
    return outcome


def _finish_nemsms(message: Message, now: datetime, error: str) -> None:
    """A NemSMS message is delivered when its SMS is sent, and failed when that fails for good."""
    open_states = [Delivery.State.PENDING, Delivery.State.IN_PROGRESS]
    deliveries = Delivery.objects.filter(message=message, state__in=open_states)
    accepted = Message.objects.filter(pk=message.pk, state=Message.State.ACCEPTED)
    if error:
        deliveries.update(state=Delivery.State.FAILED, completed_at=now, last_error=error)
        accepted.update(state=Message.State.FAILED)
    else:
        deliveries.update(state=Delivery.State.DONE, completed_at=now)
        accepted.update(state=Message.State.DELIVERED, delivered_at=now)


def notifications_send_pending(
    *, batch: int = SEND_BATCH, now: datetime | None = None, time_budget: float | None = None
) -> int:
    """Send due pending notifications, oldest first; returns how many were tried.

    Harmless when run twice or side by side: each row is claimed by :func:`notification_send`.
    Stops taking new rows once ``time_budget`` seconds have passed.
    """
    due = list(
        Notification.objects.filter(_due(now or timezone.now()))
        .order_by("created_at", "pk")
        .values_list("pk", flat=True)[:batch]
    )
    if not due:
        return 0
    deadline = None if time_budget is None else time.monotonic() + time_budget
    mail_connection = _mail_connection()
    sms_backend = get_sms_backend()
    tried = 0
    try:
        for pk in due:
            if deadline is not None and time.monotonic() > deadline:
                break
            outcome = notification_send(
                notification_id=pk, now=now, mail_connection=mail_connection, sms_backend=sms_backend
            )
            tried += outcome != "skipped"
    finally:
        _close(mail_connection)
    return tried


# --- Content -----------------------------------------------------------------------------------


def _mail_connection():
    return get_connection(timeout=getattr(settings, "EMAIL_TIMEOUT", None) or EMAIL_TIMEOUT)


def _close(mail_connection) -> None:
    with contextlib.suppress(Exception):
        mail_connection.close()


def _send_email(notification: Notification, mail_connection) -> None:
    """One e-mail. A shared connection stays open across a sweep, and is dropped after an error
    so the next e-mail starts afresh; a connection of our own is closed at once."""
    own = mail_connection is None
    mail_connection = mail_connection or _mail_connection()
    subject, body = email_content(notification)
    email = EmailMessage(subject, body, to=[notification.address], connection=mail_connection)
    try:
        mail_connection.open()
        email.send()
    except Exception:
        _close(mail_connection)
        raise
    if own:
        _close(mail_connection)


def _texts(notification: Notification) -> dict[str, str]:
    language = notification.person.language if notification.person_id else "da"
    return TEXTS.get(language, TEXTS["da"])


def _one_line(value: str) -> str:
    # MeMo fields end up in a mail header; a line break there would be refused (or worse).
    return " ".join(value.split())


def _sender(message: Message) -> str:
    if message.sender_label:
        return _one_line(message.sender_label)
    party = message.sender_organisation or message.sender_person
    return _one_line(party.name) if party else message.sender_id


def _inbox_url() -> str:
    return settings.HUB_BASE_URL.rstrip("/") + "/post/"


def email_content(notification: Notification) -> tuple[str, str]:
    """Subject and body of a notification e-mail: who sent what, and where to read it.

    Never the letter's contents: those stay behind the login.
    """
    message = notification.message
    texts = _texts(notification)
    sender = _sender(message)
    lines = [texts["intro"].format(sender=sender), "", texts["label"].format(label=_one_line(message.label))]
    mailbox = message.recipient_mailbox
    if mailbox is not None and mailbox.owner_organisation_id:
        lines.append(texts["mailbox"].format(mailbox=_one_line(mailbox.owner_organisation.name)))
    lines += [texts["link"].format(url=_inbox_url()), "", texts["footer"]]
    return texts["subject"].format(sender=sender), "\n".join(lines) + "\n"


def _sms_text(notification: Notification) -> str:
    message = notification.message
    if notification.channel == Channel.NEMSMS:
        return message.notification.strip()
    return _texts(notification)["sms"].format(sender=_sender(message), url=_inbox_url())


def _error_text(exc: BaseException) -> str:
    return (f"{type(exc).__name__}: {exc}")[:1000]


def mask_address(channel: str, address: str) -> str:
    """Enough of an address for staff to recognise it, not to use it: j***@example.dk, ******78."""
    if channel == Channel.EMAIL:
        local, _, domain = address.partition("@")
        return f"{local[:1]}***@{domain}"
    return "*" * max(len(address) - 2, 0) + address[-2:]
