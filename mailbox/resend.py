"""Pushing to recipient systems, the resend flow (gensendelsesflow) and the seven-day rule.

- A failed push that can heal is retried on a schedule (default 1, 5, 15 and 60 minutes, then
  every 4 hours); every try is a DeliveryAttempt row. A permanent refusal (4xx other than
  408/429) is not retried: the delivery fails and the sender gets an INVALID receipt.
- The sweep is set-based: for each recipient system with due retries it makes ONE real
  attempt (a probe). If the probe fails, the system is still down, and its other due
  deliveries are postponed to the probe's next time in one UPDATE, untried. If it succeeds,
  the rest are queued at once. 100,000 failing deliveries cost one HTTP call per system.
- The seven-day rule: a system's ``failing_since`` is set by its first failure and cleared by
  any success. Failing for seven days means it could not receive any message in seven days:
  it is deactivated, and its waiting mail goes to the organisation's default recipient system
  (or waits, visible to staff, if the default is the one deactivated). Warning e-mails go to
  the technical contact after 1, 3 and 6 days of failure, and on deactivation.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from adminaccess.models import Event, System
from adminaccess.services import event_log_write
from digitalpost.queueing import enqueue
from mailbox.models import Delivery, DeliveryAttempt, Message, Receipt
from mailbox.push import push_memo
from mailbox.services import message_documents_build

log = logging.getLogger(__name__)

PUSH = Q(channel=Message.Channel.RECIPIENT_SYSTEM, recipient_system__protocol=System.Protocol.REST_PUSH)


def backoff(attempts: int) -> timedelta:
    """How long to wait after the ``attempts``-th failed try."""
    schedule = settings.DIGITALPOST_RESEND_SCHEDULE_MINUTES
    return timedelta(minutes=schedule[min(max(attempts, 1), len(schedule)) - 1])


def push_delivery_process(delivery_id: int, *, now: datetime | None = None) -> str:
    """Try one push. Returns delivered | failed-temporary | failed-permanent | cancelled |
    rerouted | waiting | not-claimed."""
    now = now or timezone.now()
    claimed = Delivery.objects.filter(PUSH, pk=delivery_id, state=Delivery.State.PENDING).update(
        state=Delivery.State.IN_PROGRESS, claimed_at=now
    )
    if not claimed:
        return "not-claimed"
    delivery = Delivery.objects.select_related("message", "recipient_system__organisation").get(
        pk=delivery_id
    )
    message, system = delivery.message, delivery.recipient_system
    if message.state != Message.State.ACCEPTED:
        Delivery.objects.filter(pk=delivery.pk).update(state=Delivery.State.CANCELLED, completed_at=now)
        return "cancelled"
    if not system.is_active:
        return _reroute_one(delivery, system, now)
    message_documents_build(message)  # as for every delivery (mailbox/delivery.py)
    outcome = push_memo(
        system=system, message_uuid=str(message.message_uuid), memo_bytes=_memo_for(message, system)
    )
    attempts = delivery.attempts + 1
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery=delivery,
            recipient_system=system,
            attempted_at=now,
            outcome=(
                DeliveryAttempt.Outcome.SUCCESS
                if outcome.ok
                else DeliveryAttempt.Outcome.PERMANENT_FAILURE
                if outcome.permanent
                else DeliveryAttempt.Outcome.TEMPORARY_FAILURE
            ),
            status_code=outcome.status_code,
            error=outcome.error,
            duration_ms=outcome.duration_ms,
        )
        refs = {
            "organisation": message.sender_organisation,
            "system": system,
            "message": message,
            "subject": message.recipient_id,
        }
        if outcome.ok:
            Message.objects.filter(pk=message.pk, state=Message.State.ACCEPTED).update(
                state=Message.State.DELIVERED, delivered_at=now
            )
            # Handed over; the delivery is done when the system's business receipt arrives.
            Delivery.objects.filter(pk=delivery.pk).update(
                state=Delivery.State.READY_FOR_FETCH, attempts=attempts, last_error=""
            )
            System.objects.filter(pk=system.pk).update(
                last_success_at=now, failing_since=None, warnings_sent=0
            )
            event_log_write(tag=Event.Tag.MEMO_SEND_SENT_TO_RECIPIENT_SYSTEM, **refs)
            return "delivered"
        event_log_write(
            tag=Event.Tag.MEMO_SEND_SENT_TO_RECIPIENT_SYSTEM_FAILED,
            details={
                "attempt": attempts,
                "statusCode": outcome.status_code,
                "error": outcome.error,
                "permanent": outcome.permanent,
            },
            **refs,
        )
        if outcome.permanent:
            Delivery.objects.filter(pk=delivery.pk).update(
                state=Delivery.State.FAILED, attempts=attempts, last_error=outcome.error, completed_at=now
            )
            Message.objects.filter(pk=message.pk).update(state=Message.State.FAILED)
            # A letter written in the inbox has no sender system, so no receipt queue to tell.
            if message.sender_system_id is not None:
                Receipt.objects.create(
                    kind=Receipt.Kind.BUSINESS,
                    sender_system=message.sender_system,
                    organisation=message.sender_organisation,
                    message=message,
                    message_uuid=message.message_uuid,
                    transmission_id=message.transmission_id,
                    status=Receipt.Status.INVALID,
                    error_code="RECIPIENT_SYSTEM_REJECTED",
                    error_message=f"The recipient system refused the message: {outcome.error}"[:1000],
                )
            return "failed-permanent"
        Delivery.objects.filter(pk=delivery.pk).update(
            state=Delivery.State.PENDING,
            attempts=attempts,
            last_error=outcome.error,
            next_attempt_at=now + backoff(attempts),
            claimed_at=None,
        )
        System.objects.filter(pk=system.pk, failing_since__isnull=True).update(failing_since=now)
    return "failed-temporary"


def _memo_for(message: Message, system: System) -> bytes:
    with message.memo_file.open("rb") as stored:
        data = stored.read()
    if system.memo_version == message.memo_version:
        return data
    from memo import parse, serialize
    from memo.convert import convert

    return serialize(convert(parse(data), system.memo_version))


def _reroute_one(delivery: Delivery, system: System, now) -> str:
    default = default_recipient_system(system.organisation_id, excluding=system.pk)
    if default is None:
        Delivery.objects.filter(pk=delivery.pk).update(state=Delivery.State.PENDING, claimed_at=None)
        return "waiting"
    Delivery.objects.filter(pk=delivery.pk).update(
        state=Delivery.State.PENDING, recipient_system=default, next_attempt_at=now, claimed_at=None
    )
    Message.objects.filter(pk=delivery.message_id).update(recipient_system=default)
    return "rerouted"


def default_recipient_system(organisation_id: int, *, excluding: int | None = None) -> System | None:
    return (
        System.objects.filter(
            organisation_id=organisation_id,
            kind=System.Kind.RECIPIENT,
            is_default=True,
            status=System.Status.ACTIVE,
        )
        .exclude(pk=excluding)
        .first()
    )


def push_sweep(*, now: datetime | None = None, batch: int = 10_000) -> dict[str, int]:
    """One round of the resend flow over every system with due pushes. Harmless twice."""
    now = now or timezone.now()
    due = Delivery.objects.filter(PUSH, state=Delivery.State.PENDING, next_attempt_at__lte=now)
    counts = {"probed": 0, "postponed": 0, "queued": 0}
    for system_id in due.order_by().values_list("recipient_system_id", flat=True).distinct():
        rows = due.filter(recipient_system_id=system_id).order_by("next_attempt_at", "pk")
        probe = rows.values_list("pk", flat=True).first()
        if probe is None:
            continue
        result = push_delivery_process(probe, now=now)
        counts["probed"] += 1
        if result == "failed-temporary":
            next_at = Delivery.objects.filter(pk=probe).values_list("next_attempt_at", flat=True).get()
            counts["postponed"] += rows.update(next_attempt_at=next_at)
        elif result in ("delivered", "failed-permanent", "cancelled"):
            from mailbox.tasks import deliver

            for pk in rows.values_list("pk", flat=True)[:batch]:
                counts["queued"] += enqueue(deliver, pk)
    return counts


def recipient_systems_check(*, now: datetime | None = None) -> dict[str, int]:
    """Warn about and deactivate push systems that have failed too long (the seven-day rule)."""
    now = now or timezone.now()
    warn_days = sorted(settings.DIGITALPOST_FAILURE_WARNING_DAYS)
    limit = timedelta(days=settings.DIGITALPOST_DEACTIVATE_AFTER_DAYS)
    counts = {"warned": 0, "deactivated": 0, "recovered": 0}
    failing = System.objects.filter(
        kind=System.Kind.RECIPIENT, status=System.Status.ACTIVE, failing_since__isnull=False
    ).select_related("organisation")
    for system in failing:
        waiting = Delivery.objects.filter(
            recipient_system=system, state__in=[Delivery.State.PENDING, Delivery.State.IN_PROGRESS]
        ).exists()
        if not waiting:
            # Nothing left to send it: no evidence either way, so stop counting.
            System.objects.filter(pk=system.pk).update(failing_since=None, warnings_sent=0)
            counts["recovered"] += 1
            continue
        failing_for = now - system.failing_since
        if failing_for >= limit:
            if recipient_system_deactivate(
                system=system, now=now, reason=f"No message received for {limit.days} days"
            ):
                counts["deactivated"] += 1
            continue
        due_warnings = sum(1 for days in warn_days if failing_for >= timedelta(days=days))
        if due_warnings > system.warnings_sent and System.objects.filter(
            pk=system.pk, warnings_sent=system.warnings_sent
        ).update(warnings_sent=due_warnings):
            _mail_contact(
                system,
                f"Advarsel: modtagersystemet {system.name} kan ikke modtage Digital Post",
                f"Digital Post har ikke kunnet levere post til modtagersystemet {system.name} "
                f"({system.system_id}) siden {timezone.localtime(system.failing_since):%d.%m.%Y %H:%M}.\n"
                f"Systemet deaktiveres, hvis det ikke kan modtage post i {limit.days} dage.\n\n"
                f"Seneste fejl: {_last_error(system)}\n",
            )
            counts["warned"] += 1
    return counts


def recipient_system_deactivate(*, system: System, now=None, reason: str, actor_user=None) -> bool:
    now = now or timezone.now()
    with transaction.atomic():
        changed = System.objects.filter(pk=system.pk, status=System.Status.ACTIVE).update(
            status=System.Status.DEACTIVATED, deactivated_at=now, deactivation_reason=reason[:200]
        )
        if not changed:
            return False
        default = default_recipient_system(system.organisation_id, excluding=system.pk)
        rerouted = 0
        if default is not None:
            waiting = Delivery.objects.filter(recipient_system=system, state=Delivery.State.PENDING)
            message_ids = list(waiting.values_list("message_id", flat=True))
            rerouted = waiting.update(recipient_system=default, next_attempt_at=now)
            Message.objects.filter(pk__in=message_ids).update(recipient_system=default)
        event_log_write(
            tag=Event.Tag.RECIPIENT_SYSTEM_DEACTIVATED,
            organisation=system.organisation,
            system=system,
            actor_user=actor_user,
            details={
                "reason": reason,
                "reroutedTo": str(default.system_id) if default else None,
                "rerouted": rerouted,
            },
        )
    _mail_contact(
        system,
        f"Modtagersystemet {system.name} er deaktiveret",
        f"Modtagersystemet {system.name} ({system.system_id}) er deaktiveret: {reason}.\n"
        + (
            f"Ventende post ({rerouted}) sendes nu til standardmodtagersystemet {default.name}.\n"
            if default
            else "Organisationen har intet andet aktivt standardmodtagersystem: posten venter.\n"
        )
        + "Systemet kan genaktiveres i Administrativ Adgang.\n",
    )
    return True


def recipient_system_reactivate(*, system: System, actor_user=None) -> bool:
    now = timezone.now()
    with transaction.atomic():
        changed = System.objects.filter(pk=system.pk, status=System.Status.DEACTIVATED).update(
            status=System.Status.ACTIVE,
            deactivated_at=None,
            deactivation_reason="",
            failing_since=None,
            warnings_sent=0,
        )
        if not changed:
            return False
        Delivery.objects.filter(recipient_system=system, state=Delivery.State.PENDING).update(
            next_attempt_at=now
        )
        event_log_write(
            tag=Event.Tag.RECIPIENT_SYSTEM_REACTIVATED,
            organisation=system.organisation,
            system=system,
            actor_user=actor_user,
        )
    return True


def _last_error(system: System) -> str:
    attempt = (
        DeliveryAttempt.objects.filter(recipient_system=system)
        .exclude(outcome=DeliveryAttempt.Outcome.SUCCESS)
        .order_by("-attempted_at")
        .first()
    )
    return attempt.error if attempt else "-"


def _mail_contact(system: System, subject: str, body: str) -> None:
    to = system.technical_contact_email or system.organisation.technical_contact_email
    if not to:
        log.warning("No technical contact for %s: %s", system.system_id, subject)
        return
    send_mail(subject, body, None, [to], fail_silently=False)
