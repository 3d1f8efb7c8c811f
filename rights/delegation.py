"""Giving and taking back access to a mailbox: fuldmagt (read, or read-write) and company
employees' access to the company mailbox.

Grants are never deleted: a revoked or expired grant stays, so the owner can always see who
had access and when. Each grant and revocation lands in the event log of the mailbox.
"""

from __future__ import annotations

from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from adminaccess.models import Event
from adminaccess.services import event_log_write
from mailbox.models import Mailbox
from rights.models import MailboxAccess, Person, User


@transaction.atomic
def mailbox_access_grant(
    *,
    mailbox: Mailbox,
    grantee: Person,
    level: str,
    kind: str = MailboxAccess.Kind.DELEGATION,
    valid_until: datetime | None = None,
    granted_by_person: Person | None = None,
    granted_by_user: User | None = None,
) -> MailboxAccess:
    """Give ``grantee`` access to ``mailbox``. A live grant to the same person is an error:
    changing the level is revoke, then grant."""
    if level not in MailboxAccess.Level.values:
        raise ValidationError({"level": "Choose read access or read and write access."})
    if kind not in MailboxAccess.Kind.values:
        raise ValidationError({"kind": f"Unknown kind of access {kind!r}."})
    if mailbox.owner_person_id is not None and mailbox.owner_person_id == grantee.pk:
        raise ValidationError({"grantee": "A person cannot be given access to their own mailbox."})
    now = timezone.now()
    if valid_until is not None and valid_until <= now:
        raise ValidationError({"valid_until": "The end date must be in the future."})
    try:
        with transaction.atomic():
            access = MailboxAccess.objects.create(
                mailbox=mailbox,
                grantee=grantee,
                level=level,
                kind=kind,
                valid_from=now,
                valid_until=valid_until,
                granted_by_person=granted_by_person,
                granted_by_user=granted_by_user,
            )
    except IntegrityError:
        # mailboxaccess_one_live_grant: the grantee already holds live access.
        raise ValidationError(
            {"grantee": f"{grantee.name} already has access to this mailbox."}, code="exists"
        ) from None
    event_log_write(
        tag=Event.Tag.READ_ACCESS_CREATED,
        mailbox=mailbox,
        organisation=mailbox.owner_organisation,
        actor_person=granted_by_person,
        actor_user=granted_by_user,
        subject=mailbox.owner_identifier,
        details={
            "grantee": grantee.cpr,
            "granteeName": grantee.name,
            "level": level,
            "kind": kind,
            "validUntil": valid_until.isoformat() if valid_until else None,
        },
    )
    return access


@transaction.atomic
def mailbox_access_revoke(
    *,
    access: MailboxAccess,
    revoked_by: User | None = None,
    revoked_by_person: Person | None = None,
) -> MailboxAccess:
    """End a grant now. Revoking one already revoked is an error and changes nothing."""
    now = timezone.now()
    changed = MailboxAccess.objects.filter(pk=access.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoked_by=revoked_by
    )
    if not changed:
        raise ValidationError({"access": "This access has already been revoked."}, code="revoked")
    access.refresh_from_db()
    mailbox = access.mailbox
    event_log_write(
        tag=Event.Tag.READ_ACCESS_DELETED,
        mailbox=mailbox,
        organisation=mailbox.owner_organisation,
        actor_user=revoked_by,
        actor_person=revoked_by_person,
        subject=mailbox.owner_identifier,
        details={"grantee": access.grantee.cpr, "granteeName": access.grantee.name, "level": access.level},
    )
    return access
