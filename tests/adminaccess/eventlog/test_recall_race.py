"""A staff mass recall racing the value-date release, for real, on PostgreSQL.

Both run at once on their own connections: the release claims held rows with
``FOR UPDATE SKIP LOCKED`` in small batches, the mass recall moves held rows with a conditional
UPDATE. Every message must end with exactly one winner: recalled (one recall event, no inbox
row, delivery cancelled) or delivered (one release event, one inbox row), and the counts the
recall reports must be exactly what happened. SQLite serialises every writer; it skips here.
"""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections

from adminaccess.models import Event
from adminaccess.recall import messages_recall_mass
from adminaccess.selectors import RecallFilter
from mailbox.models import Delivery, MailboxItem, Message
from mailbox.release import release_due
from mailbox.sending import RecallRefused, memo_recall
from tests.adminaccess.eventlog.helpers import Role, held, staff_member, tomorrow
from tests.factories import OrganisationFactory, make_system

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (set DATABASE_URL)"),
]

MESSAGES = 60


def _race(recall, release) -> list[BaseException]:
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(work):
        try:
            barrier.wait(timeout=30)
            work()
        except BaseException as exc:  # reported by the test below
            errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(recall,)), threading.Thread(target=run, args=(release,))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return errors


def _outcome(message: Message):
    message.refresh_from_db()
    tags = tuple(
        sorted(
            Event.objects.filter(
                message=message,
                tag__in=[Event.Tag.MESSAGE_RECALLED_BY_ADMINISTRATOR, Event.Tag.DELAYED_MEMO_SEND_SENT],
            ).values_list("tag", flat=True)
        )
    )
    items = MailboxItem.objects.filter(message=message).count()
    return message.state, tags, items, Delivery.objects.get(message=message).state


RECALLED = (
    Message.State.RECALLED,
    (Event.Tag.MESSAGE_RECALLED_BY_ADMINISTRATOR,),
    0,
    Delivery.State.CANCELLED,
)
DELIVERED = (Message.State.DELIVERED, (Event.Tag.DELAYED_MEMO_SEND_SENT,), 1, Delivery.State.DONE)


def test_a_mass_recall_racing_the_release_has_exactly_one_winner_per_message():
    kommune = OrganisationFactory()
    system = make_system(kommune)[0]
    staff = staff_member(kommune, Role.RECALL_ADMINISTRATOR)
    messages = [held(kommune, system) for _ in range(MESSAGES)]
    results = []
    flt = RecallFilter(sender_system=system, value_date=tomorrow())

    errors = _race(
        lambda: results.append(
            messages_recall_mass(organisation=kommune, flt=flt, actor_user=staff.user, chunk=7)
        ),
        lambda: release_due(today=tomorrow(), batch_size=5),
    )
    assert errors == []
    release_due(today=tomorrow())  # whatever neither took is released now
    outcomes = [_outcome(m) for m in messages]
    assert set(outcomes) <= {RECALLED, DELIVERED}
    [result] = results
    assert result.recalled == outcomes.count(RECALLED)
    # Released before the recall got to them: exactly those it reports as gone.
    assert result.recalled + result.already_gone == MESSAGES


def test_a_single_staff_recall_racing_the_release_has_exactly_one_winner():
    kommune = OrganisationFactory()
    system = make_system(kommune)[0]
    staff = staff_member(kommune, Role.RECALL_ADMINISTRATOR)
    messages = [held(kommune, system) for _ in range(30)]
    recalled: list[int] = []

    def recall_all():
        for message in messages:
            try:
                memo_recall(message_uuid=message.message_uuid, organisation=kommune, actor_user=staff.user)
                recalled.append(message.pk)
            except RecallRefused:
                pass

    assert _race(recall_all, lambda: release_due(today=tomorrow(), batch_size=5)) == []
    release_due(today=tomorrow())
    for message in messages:
        assert _outcome(message) == (RECALLED if message.pk in recalled else DELIVERED)
