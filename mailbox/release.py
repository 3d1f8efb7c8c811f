"""Releasing value-dated mail on its date (valørdato), set-based.

A national mass send can put millions of letters on one date, so release never handles one
message at a time: each batch claims up to ``batch_size`` due messages with
``SELECT ... FOR UPDATE SKIP LOCKED`` (PostgreSQL; SQLite runs one writer at a time anyway) and
moves all of them with a handful of set-based statements.

Mailbox mail (nearly all of a mass send) goes first. On PostgreSQL one statement per batch
claims it, marks it delivered, inserts its inbox rows and its ``DELAYED_MEMO_SEND_SENT``
events, closes its outbox rows and records its notifications: the rows are read once, through
the claim, and no id list travels to the database and back between steps. Then the search text
is queued, for exactly the messages that statement returned.

Batches are claimed in (value date, mailbox) order, which the held-message index keeps: the
inbox rows of a batch then go into neighbouring pages of the inbox indexes, which are keyed by
mailbox, instead of into a random page of each per letter (a quarter of the release time at a
million letters in bench/bench_delivery.py). The statement keeps one database process busy, so
when the first batch is full, ``DIGITALPOST_RELEASE_CONNECTIONS`` connections (threads) go on
side by side, each claiming its own batches, until none is left.

Everything else (a pull recipient system: ready for fetch, and delivered; push, remote print,
NemSMS or a deactivated system: ACCEPTED with a PENDING delivery row for the engine) and all
mail on SQLite goes through a few statements over the claimed ids.

A recall racing the release: the recall's conditional UPDATE (HELD/ACCEPTED -> RECALLED)
either runs first, and the release no longer sees the row as HELD, or waits for the release's
row lock and then finds the message delivered (409). Exactly one of the two wins, and the
event log holds either DELAYED_MEMO_SEND_SENT or MEMO_MESSAGE_RECALLED for it.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import date

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from adminaccess.models import Event, System
from digitalpost.queueing import enqueue
from mailbox.models import Delivery, Folder, Message
from mailbox.notifications import (
    NOTIFICATIONS_FROM_BATCH,
    NOTIFICATIONS_INSERT,
    notification_batch_params,
    notifications_create_for_messages,
)
from mailbox.search import message_texts_index_later

BATCH_SIZE = 10_000


def release_due(
    *, today: date | None = None, batch_size: int = BATCH_SIZE, connections: int | None = None
) -> int:
    """Release every held message whose value date has come. Returns how many.

    ``connections`` (default ``DIGITALPOST_RELEASE_CONNECTIONS``) is how many database
    connections release mailbox mail side by side on PostgreSQL once there is more than a batch.
    """
    today = today or timezone.localdate()
    released = 0
    if connection.vendor == "postgresql":
        released += _release_mailbox_mail(
            today, batch_size, connections or settings.DIGITALPOST_RELEASE_CONNECTIONS
        )
    while True:
        count, later = _release_batch(today, batch_size)
        released += count
        if later:
            # The engine delivers push, print and NemSMS one by one; wake it after commit.
            transaction.on_commit(_queue_engine)
        if count < batch_size:
            return released


def _release_mailbox_mail(today: date, batch_size: int, connections: int) -> int:
    released = _release_mailbox_batch(today, batch_size)
    if released < batch_size:
        return released
    if connections <= 1 or connection.in_atomic_block:
        # Inside the caller's transaction other connections would not see its rows (nor could
        # they commit for it): go on here, one batch after another.
        return released + _release_mailbox_batches(today, batch_size)
    with ThreadPoolExecutor(max_workers=connections, thread_name_prefix="release") as pool:
        running = [pool.submit(_release_in_own_connection, today, batch_size) for _ in range(connections)]
        # Every batch commits by itself: if one thread fails, what the others released stays
        # released, and the error is raised here after they finish (the next run goes on).
        return released + sum(future.result() for future in running)


def _release_mailbox_batches(today: date, batch_size: int) -> int:
    released = 0
    while True:
        count = _release_mailbox_batch(today, batch_size)
        released += count
        if count < batch_size:
            return released


def _release_in_own_connection(today: date, batch_size: int) -> int:
    # Django gives each thread its own connection; it is closed when the thread's work ends.
    try:
        return _release_mailbox_batches(today, batch_size)
    finally:
        connection.close()


def _queue_engine() -> None:
    from mailbox.tasks import sweep_deliveries

    enqueue(sweep_deliveries)


# One batch of mailbox mail, PostgreSQL. The claim is an ARRAY(...) sub-select, so the UPDATE
# finds its rows by primary key (a join on the claim made the planner hash the whole table).
# Data-modifying CTEs all run, and see the same snapshot, so the inserts and the outbox update
# read the claimed rows from the UPDATE's RETURNING, never from the table again.
_RELEASE_MAILBOX_STEPS = """
WITH released AS (
    UPDATE mailbox_message m SET state = %(delivered)s, delivered_at = %(now)s
    WHERE m.id = ANY(ARRAY(
        SELECT id FROM mailbox_message
        WHERE state = %(held)s AND value_date <= %(today)s AND channel = %(mailbox)s
        ORDER BY value_date, recipient_mailbox_id
        LIMIT %(limit)s
        FOR UPDATE SKIP LOCKED
    )) AND m.state = %(held)s
    RETURNING m.id, m.recipient_mailbox_id, m.sender_organisation_id, m.sender_system_id,
              m.message_uuid, m.recipient_id, COALESCE(NULLIF(m.sender_label, ''), m.sender_id) AS party,
              m.label, m.message_type
), items AS (
    INSERT INTO mailbox_mailboxitem (mailbox_id, message_id, folder_id, received_at, flagged, party, title)
    SELECT r.recipient_mailbox_id, r.id, f.id, %(now)s, false, r.party, r.label
    FROM released r
    JOIN mailbox_folder f ON f.mailbox_id = r.recipient_mailbox_id AND f.kind = %(inbox)s
    ON CONFLICT DO NOTHING
), events AS (
    INSERT INTO adminaccess_event
        (occurred_at, tag, organisation_id, system_id, message_id, message_uuid, subject, details)
    SELECT %(now)s, %(tag)s, r.sender_organisation_id, r.sender_system_id, r.id, r.message_uuid,
           r.recipient_id, '{}'
    FROM released r
), outbox AS (
    UPDATE mailbox_delivery SET state = %(done)s, completed_at = %(now)s
    WHERE message_id IN (SELECT id FROM released)
), batch AS (
    SELECT id, recipient_mailbox_id, message_type FROM released
), notified AS (
"""
_RELEASE_MAILBOX_BATCH = (
    _RELEASE_MAILBOX_STEPS + NOTIFICATIONS_INSERT + NOTIFICATIONS_FROM_BATCH + ")\nSELECT id FROM released\n"
)


def _release_mailbox_batch(today: date, batch_size: int) -> int:
    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            _RELEASE_MAILBOX_BATCH,
            {
                **notification_batch_params(now),
                "today": today,
                "now": now,
                "limit": batch_size,
                "held": Message.State.HELD,
                "delivered": Message.State.DELIVERED,
                "mailbox": Message.Channel.MAILBOX,
                "inbox": Folder.Kind.INBOX,
                "tag": Event.Tag.DELAYED_MEMO_SEND_SENT,
                "done": Delivery.State.DONE,
            },
        )
        ids = [pk for (pk,) in cursor.fetchall()]
        if ids:
            # The notifications were recorded by the statement; the search text comes later.
            message_texts_index_later(message_ids=ids)
    return len(ids)


def _ids_param(ids: list[int]) -> tuple[str, object]:
    """A SQL condition on ``id`` for exactly these ids, as one parameter."""
    if connection.vendor == "postgresql":
        return "= ANY(%s)", ids
    return "IN (SELECT value FROM json_each(%s))", json.dumps(ids)


def _release_batch(today: date, batch_size: int) -> tuple[int, bool]:
    now = timezone.now()
    with transaction.atomic():
        due = Message.objects.filter(state=Message.State.HELD, value_date__lte=today).order_by()
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        ids = list(due.values_list("pk", flat=True)[:batch_size])
        if not ids:
            return 0, False
        mailbox_ids, pull_ids, later_ids = _classify(ids)
        done = mailbox_ids + pull_ids
        if mailbox_ids:
            _insert_inbox_items(mailbox_ids, now)
            _execute(
                "UPDATE mailbox_delivery SET state = %s, completed_at = %s WHERE message_id {ids}",
                [Delivery.State.DONE, now],
                mailbox_ids,
            )
        if pull_ids:
            _execute(
                "UPDATE mailbox_delivery SET state = %s WHERE message_id {ids}",
                [Delivery.State.READY_FOR_FETCH],
                pull_ids,
            )
        if done:
            _execute(
                "UPDATE mailbox_message SET state = %s, delivered_at = %s WHERE id {ids}",
                [Message.State.DELIVERED, now],
                done,
            )
        if later_ids:
            _execute(
                "UPDATE mailbox_message SET state = %s WHERE id {ids}", [Message.State.ACCEPTED], later_ids
            )
            _execute(
                "UPDATE mailbox_delivery SET state = %s, next_attempt_at = %s WHERE message_id {ids}",
                [Delivery.State.PENDING, now],
                later_ids,
            )
        _insert_events(ids, now)
        if mailbox_ids:
            _notify(mailbox_ids)
    return len(ids), bool(later_ids)


def _classify(ids: list[int]) -> tuple[list[int], list[int], list[int]]:
    """Split a batch: mailbox mail, mail for an active pull system, and the rest."""
    condition, param = _ids_param(ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            SELECT m.id,
                   CASE WHEN m.channel = %s THEN 'mailbox'
                        WHEN m.channel = %s AND s.protocol = %s AND s.status = %s THEN 'pull'
                        ELSE 'later' END
            FROM mailbox_message m
            LEFT JOIN mailbox_delivery d ON d.message_id = m.id
            LEFT JOIN adminaccess_system s ON s.id = d.recipient_system_id
            WHERE m.id {condition}
            """,  # noqa: S608 - only our own fixed SQL fragments are interpolated
            [
                Message.Channel.MAILBOX,
                Message.Channel.RECIPIENT_SYSTEM,
                System.Protocol.REST_PULL,
                System.Status.ACTIVE,
                param,
            ],
        )
        groups: dict[str, list[int]] = {"mailbox": [], "pull": [], "later": []}
        for pk, group in cursor.fetchall():
            groups[group].append(pk)
    return groups["mailbox"], groups["pull"], groups["later"]


def _execute(sql: str, params: list, ids: list[int]) -> None:
    condition, param = _ids_param(ids)
    with connection.cursor() as cursor:
        cursor.execute(sql.format(ids=condition), [*params, param])


def _insert_inbox_items(message_ids: list[int], now) -> None:
    condition, param = _ids_param(message_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO mailbox_mailboxitem
                (mailbox_id, message_id, folder_id, received_at, flagged, party, title)
            SELECT m.recipient_mailbox_id, m.id, f.id, %s, %s,
                   COALESCE(NULLIF(m.sender_label, ''), m.sender_id), m.label
            FROM mailbox_message m
            JOIN mailbox_folder f ON f.mailbox_id = m.recipient_mailbox_id AND f.kind = %s
            WHERE m.id {condition}
            ON CONFLICT DO NOTHING
            """,  # noqa: S608 - only our own fixed SQL fragments are interpolated
            [now, False, Folder.Kind.INBOX, param],
        )


def _insert_events(message_ids: list[int], now) -> None:
    condition, param = _ids_param(message_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO adminaccess_event
                (occurred_at, tag, organisation_id, system_id, message_id, message_uuid, subject, details)
            SELECT %s, %s, m.sender_organisation_id, m.sender_system_id, m.id, m.message_uuid,
                   m.recipient_id, %s
            FROM mailbox_message m
            WHERE m.id {condition}
            """,  # noqa: S608 - only our own fixed SQL fragments are interpolated
            [now, Event.Tag.DELAYED_MEMO_SEND_SENT, "{}", param],
        )


def _notify(message_ids: list[int]) -> None:
    notifications_create_for_messages(message_ids=message_ids)
    # Document text for the inbox search is extracted by a task, off this path (mailbox/search.py).
    message_texts_index_later(message_ids=message_ids)
