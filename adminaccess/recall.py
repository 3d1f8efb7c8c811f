"""Recalling a whole mass send before its value date, set-based (staff in Administrativ Adgang).

One message is recalled by ``mailbox.sending.memo_recall``. A mass send (every held message
of one sender system on one value date, or of one batch) can be millions of letters, so it is
recalled in chunks, each one short transaction of a few set-based statements:

1. pick the next ``chunk`` held candidates by id (keyset; no lock);
2. ``UPDATE mailbox_message SET state = RECALLED ... WHERE id IN (chunk) AND state = HELD
   RETURNING ...``: the same conditional UPDATE on state that makes ``memo_recall`` safe
   against the release (mailbox/release.py). The release claims rows with
   ``SELECT ... FOR UPDATE SKIP LOCKED WHERE state = HELD``: if our UPDATE got a row first, the
   release no longer sees it as held; if the release holds it, our UPDATE waits for its commit,
   re-reads the row, finds it DELIVERED (or ACCEPTED) and leaves it. Exactly one wins;
3. cancel those messages' delivery rows, and write one MESSAGE_RECALLED_BY_ADMINISTRATOR event
   per recalled message (one bulk insert).

What was released before the recall got to it is reported as "already gone", never recalled.
Only HELD messages are taken: once released, a mass send is in the delivery engine's hands, and
a single message still in it can be recalled one by one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.db import connection, transaction
from django.utils import timezone

from adminaccess.models import Event
from adminaccess.selectors import RecallFilter, messages_for_recall
from mailbox.models import Delivery, Message
from rights.models import Organisation, User

CHUNK = 5_000

#: Released (or failed) after the value date came: too late to recall.
GONE_STATES = (Message.State.ACCEPTED, Message.State.DELIVERED, Message.State.FAILED)


@dataclass(frozen=True)
class MassRecallResult:
    recalled: int
    already_gone: int


def _ids_param(ids: list[int]) -> tuple[str, object]:
    """A SQL condition on an id column for exactly these ids, as one parameter."""
    if connection.vendor == "postgresql":
        return "= ANY(%s)", ids
    return "IN (SELECT value FROM json_each(%s))", json.dumps(ids)


def messages_recall_mass(
    *, organisation: Organisation, flt: RecallFilter, actor_user: User, chunk: int = CHUNK
) -> MassRecallResult:
    """Recall every held message of the mass send ``flt`` names (sender system + value date,
    or batch). Returns how many were recalled by this call and how many had already gone."""
    if not flt.is_mass_send:
        raise ValueError("a mass recall needs a sender system and a value date, or a batch")
    details = {"massRecall": True}
    if flt.sender_system is not None:
        details["senderSystem"] = str(flt.sender_system.system_id)
    if flt.value_date is not None:
        details["valueDate"] = flt.value_date.isoformat()
    if flt.batch_id is not None:
        details["batchId"] = str(flt.batch_id)
    matching = messages_for_recall(organisation=organisation, flt=flt)
    recalled, last_id = 0, 0
    while True:
        ids = list(
            matching.filter(state=Message.State.HELD, pk__gt=last_id)
            .order_by("pk")
            .values_list("pk", flat=True)[:chunk]
        )
        if not ids:
            break
        last_id = ids[-1]
        recalled += _recall_chunk(ids, organisation=organisation, actor_user=actor_user, details=details)
        if len(ids) < chunk:
            break
    already_gone = matching.filter(state__in=GONE_STATES).count()
    return MassRecallResult(recalled=recalled, already_gone=already_gone)


def _recall_chunk(ids: list[int], *, organisation: Organisation, actor_user: User, details: dict) -> int:
    now = timezone.now()
    stamp = connection.ops.adapt_datetimefield_value(now)
    condition, param = _ids_param(ids)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE mailbox_message SET state = %s, recalled_at = %s, recalled_by_id = %s
            WHERE id {condition} AND state = %s
            RETURNING id, message_uuid, recipient_id, sender_system_id
            """,  # noqa: S608 - only our own fixed SQL fragments are interpolated
            [Message.State.RECALLED, stamp, actor_user.pk, param, Message.State.HELD],
        )
        rows = cursor.fetchall()
        if not rows:
            return 0
        recalled_ids = [row[0] for row in rows]
        condition, param = _ids_param(recalled_ids)
        cursor.execute(
            f"UPDATE mailbox_delivery SET state = %s, completed_at = %s "  # noqa: S608
            f"WHERE message_id {condition} AND state <> %s",
            [Delivery.State.CANCELLED, stamp, param, Delivery.State.DONE],
        )
        message_uuid_field = Message._meta.get_field("message_uuid")
        Event.objects.bulk_create(
            Event(
                occurred_at=now,
                tag=Event.Tag.MESSAGE_RECALLED_BY_ADMINISTRATOR,
                organisation=organisation,
                system_id=sender_system_id,
                message_id=pk,
                message_uuid=message_uuid_field.to_python(message_uuid),
                actor_user=actor_user,
                subject=recipient_id,
                details=details,
            )
            for pk, message_uuid, recipient_id, sender_system_id in rows
        )
    return len(rows)
