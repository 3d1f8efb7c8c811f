"""Value-date release: on the date, in batches, exactly once, and never past a recall."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, connections
from django.utils import timezone

from adminaccess.models import Event, System
from mailbox.models import Delivery, MailboxItem, Message, Notification
from mailbox.release import release_due
from mailbox.sending import RecallRefused, memo_recall, memo_send
from rights.models import Person
from tests.factories import OrganisationFactory, PersonFactory, make_system
from tests.mailbox.api.helpers import letter

pytestmark = pytest.mark.django_db

TOMORROW = timezone.localdate() + timedelta(days=1)


def _held(sender, system, recipient_id, *, recipient_type="CPR", value_date=TOMORROW) -> Message:
    message_uuid, data = letter(
        sender_cvr=sender.cvr, recipient_id=recipient_id, recipient_type=recipient_type, value_date=value_date
    )
    memo_send(data=data, system=system, expected_uuid=message_uuid)
    return Message.objects.get(message_uuid=message_uuid)


def test_nothing_is_released_before_the_value_date(sender, sender_system):
    message = _held(sender, sender_system, PersonFactory().cpr)
    assert release_due(today=TOMORROW - timedelta(days=1)) == 0
    message.refresh_from_db()
    assert message.state == Message.State.HELD
    assert not MailboxItem.objects.exists()


def test_on_the_value_date_mailbox_mail_lands_in_the_inbox_once(sender, sender_system):
    person = PersonFactory()
    message = _held(sender, sender_system, person.cpr)
    assert release_due(today=TOMORROW) == 1
    assert release_due(today=TOMORROW) == 0
    message.refresh_from_db()
    assert message.state == Message.State.DELIVERED
    assert message.delivered_at is not None
    item = MailboxItem.objects.get(message=message)
    assert (item.mailbox, item.folder.kind) == (person.mailbox, "INBOX")
    assert Delivery.objects.get(message=message).state == Delivery.State.DONE
    events = Event.objects.filter(message=message, tag=Event.Tag.DELAYED_MEMO_SEND_SENT)
    assert [(e.organisation_id, e.system_id, e.subject, e.message_uuid) for e in events] == [
        (sender.pk, sender_system.pk, person.cpr, message.message_uuid)
    ]


def test_mail_for_a_pull_system_becomes_ready_for_fetch(sender, sender_system):
    authority = OrganisationFactory()
    make_system(authority, kind=System.Kind.RECIPIENT, is_default=True)
    message = _held(sender, sender_system, authority.cvr, recipient_type="CVR")
    release_due(today=TOMORROW)
    message.refresh_from_db()
    assert message.state == Message.State.DELIVERED
    assert Delivery.objects.get(message=message).state == Delivery.State.READY_FOR_FETCH


def test_push_mail_is_handed_to_the_engine(sender, sender_system, django_capture_on_commit_callbacks):
    authority = OrganisationFactory()
    make_system(
        authority, kind=System.Kind.RECIPIENT, is_default=True,
        protocol=System.Protocol.REST_PUSH, endpoint="https://push.example.invalid/memo",
    )  # fmt: skip
    pushed = _held(sender, sender_system, authority.cvr, recipient_type="CVR")
    with django_capture_on_commit_callbacks() as callbacks:
        release_due(today=TOMORROW)
    pushed.refresh_from_db()
    assert pushed.state == Message.State.ACCEPTED
    delivery = Delivery.objects.get(message=pushed)
    assert delivery.state == Delivery.State.PENDING
    assert delivery.next_attempt_at is not None
    assert len(callbacks) == 1  # the engine is woken once, after commit


def test_it_releases_in_batches_until_everything_due_is_out(sender, sender_system):
    people = [PersonFactory() for _ in range(7)]
    for person in people:
        _held(sender, sender_system, person.cpr)
    assert release_due(today=TOMORROW, batch_size=3) == 7
    assert MailboxItem.objects.count() == 7
    assert Event.objects.filter(tag=Event.Tag.DELAYED_MEMO_SEND_SENT).count() == 7


def test_mail_whose_value_date_has_passed_is_released_too(sender, sender_system):
    message = _held(sender, sender_system, PersonFactory().cpr)
    assert release_due(today=TOMORROW + timedelta(days=3)) == 1
    message.refresh_from_db()
    assert message.state == Message.State.DELIVERED


def test_one_date_of_every_channel_releases_each_message_once_its_own_way(sender, sender_system):
    people = [PersonFactory() for _ in range(3)]
    puller, pusher = OrganisationFactory(), OrganisationFactory()
    make_system(puller, kind=System.Kind.RECIPIENT, is_default=True)
    make_system(
        pusher, kind=System.Kind.RECIPIENT, is_default=True,
        protocol=System.Protocol.REST_PUSH, endpoint="https://push.example.invalid/memo",
    )  # fmt: skip
    mailbox_mail = [_held(sender, sender_system, person.cpr) for person in people]
    pulled = _held(sender, sender_system, puller.cvr, recipient_type="CVR")
    pushed = _held(sender, sender_system, pusher.cvr, recipient_type="CVR")

    assert release_due(today=TOMORROW, batch_size=2) == 5
    assert release_due(today=TOMORROW) == 0

    def state(message):
        message.refresh_from_db()
        return message.state, Delivery.objects.get(message=message).state

    assert [state(m) for m in mailbox_mail] == [(Message.State.DELIVERED, Delivery.State.DONE)] * 3
    assert state(pulled) == (Message.State.DELIVERED, Delivery.State.READY_FOR_FETCH)
    assert state(pushed) == (Message.State.ACCEPTED, Delivery.State.PENDING)
    assert sorted(MailboxItem.objects.values_list("message_id", "mailbox_id")) == sorted(
        (m.pk, person.mailbox.pk) for m, person in zip(mailbox_mail, people, strict=True)
    )
    events = Event.objects.filter(tag=Event.Tag.DELAYED_MEMO_SEND_SENT)
    assert sorted(events.values_list("message_id", flat=True)) == sorted(
        m.pk for m in [*mailbox_mail, pulled, pushed]
    )


def test_released_mailbox_mail_is_notified_and_queued_for_search(sender, sender_system, monkeypatch):
    indexed: list[int] = []
    monkeypatch.setattr(
        "mailbox.release.message_texts_index_later", lambda *, message_ids: indexed.extend(message_ids)
    )
    told = PersonFactory(email="borger@example.invalid")
    Person.objects.filter(pk=told.pk).update(email_verified=True)
    untold = PersonFactory()
    first, second = _held(sender, sender_system, told.cpr), _held(sender, sender_system, untold.cpr)
    release_due(today=TOMORROW)
    assert list(Notification.objects.values_list("message_id", "channel", "address")) == [
        (first.pk, Notification.Channel.EMAIL, "borger@example.invalid")
    ]
    assert sorted(indexed) == sorted([first.pk, second.pk])


def test_the_number_of_queries_does_not_grow_with_the_batch(sender, sender_system):
    from django.test.utils import CaptureQueriesContext

    def queries_to_release(count: int) -> int:
        for _ in range(count):
            _held(sender, sender_system, PersonFactory().cpr)
        with CaptureQueriesContext(connection) as captured:
            assert release_due(today=TOMORROW) == count
        return len(captured.captured_queries)

    assert queries_to_release(2) == queries_to_release(25)


def test_a_recall_before_the_release_wins(sender, sender_system):
    message = _held(sender, sender_system, PersonFactory().cpr)
    memo_recall(message_uuid=message.message_uuid, system=sender_system)
    assert release_due(today=TOMORROW) == 0
    message.refresh_from_db()
    assert message.state == Message.State.RECALLED
    assert not MailboxItem.objects.exists()
    tags = set(Event.objects.filter(message=message).values_list("tag", flat=True))
    assert Event.Tag.MEMO_MESSAGE_RECALLED in tags
    assert Event.Tag.DELAYED_MEMO_SEND_SENT not in tags


def test_a_recall_after_the_release_is_refused(sender, sender_system):
    message = _held(sender, sender_system, PersonFactory().cpr)
    release_due(today=TOMORROW)
    with pytest.raises(RecallRefused) as refused:
        memo_recall(message_uuid=message.message_uuid, system=sender_system)
    assert (refused.value.status, refused.value.code) == (409, "ALREADY_DELIVERED")


@pytest.mark.django_db(transaction=True)
def test_recall_racing_release_has_exactly_one_winner_per_message():
    if connection.vendor != "postgresql":
        pytest.skip("the race needs concurrent writers (PostgreSQL)")
    sender = OrganisationFactory()
    system = make_system(sender)[0]
    messages = [_held(sender, system, PersonFactory().cpr) for _ in range(40)]
    barrier = threading.Barrier(2)
    recalled: list = []

    def recall_all():
        barrier.wait()
        try:
            for message in messages:
                try:
                    memo_recall(message_uuid=message.message_uuid, system=system)
                    recalled.append(message.pk)
                except RecallRefused:
                    pass
        finally:
            connections.close_all()

    def release_all():
        barrier.wait()
        try:
            release_due(today=TOMORROW, batch_size=5)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=recall_all), threading.Thread(target=release_all)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    release_due(today=TOMORROW)
    for message in messages:
        message.refresh_from_db()
        tags = list(
            Event.objects.filter(
                message=message, tag__in=[Event.Tag.MEMO_MESSAGE_RECALLED, Event.Tag.DELAYED_MEMO_SEND_SENT]
            ).values_list("tag", flat=True)
        )
        items = MailboxItem.objects.filter(message=message).count()
        if message.pk in recalled:
            expected = (Message.State.RECALLED, [Event.Tag.MEMO_MESSAGE_RECALLED], 0)
        else:
            expected = (Message.State.DELIVERED, [Event.Tag.DELAYED_MEMO_SEND_SENT], 1)
        assert (message.state, tags, items) == expected


@pytest.mark.django_db(transaction=True)
def test_a_large_date_is_released_by_several_connections_each_message_once(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("several connections need PostgreSQL")
    from mailbox import release

    sender = OrganisationFactory()
    system = make_system(sender)[0]
    people = [PersonFactory() for _ in range(5)]
    messages = [_held(sender, system, people[n % 5].cpr) for n in range(30)]
    drains = []
    own_connection = release._release_in_own_connection

    def counted(today, batch_size):
        drains.append(threading.current_thread().name)
        return own_connection(today, batch_size)

    monkeypatch.setattr(release, "_release_in_own_connection", counted)

    assert release_due(today=TOMORROW, batch_size=4, connections=3) == 30

    assert len(drains) == 3 and all(name.startswith("release") for name in drains)
    assert release_due(today=TOMORROW, batch_size=4, connections=3) == 0
    ids = [m.pk for m in messages]
    assert Message.objects.filter(pk__in=ids, state=Message.State.DELIVERED).count() == 30
    assert sorted(MailboxItem.objects.values_list("message_id", flat=True)) == sorted(ids)
    sent = Event.objects.filter(message_id__in=ids, tag=Event.Tag.DELAYED_MEMO_SEND_SENT)
    assert sorted(sent.values_list("message_id", flat=True)) == sorted(ids)
    assert Delivery.objects.filter(message_id__in=ids, state=Delivery.State.DONE).count() == 30


def test_inside_a_transaction_release_stays_in_its_own_connection(sender, sender_system, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("only PostgreSQL releases through several connections")
    from mailbox import release

    def no_threads(*args, **kwargs):
        raise AssertionError("other connections cannot see this transaction's rows")

    monkeypatch.setattr(release, "ThreadPoolExecutor", no_threads)
    people = [PersonFactory() for _ in range(3)]
    for n in range(7):
        _held(sender, sender_system, people[n % 3].cpr)

    assert release_due(today=TOMORROW, batch_size=3, connections=4) == 7
    assert MailboxItem.objects.count() == 7


def test_a_batch_takes_due_mail_mailbox_by_mailbox(sender, sender_system):
    if connection.vendor != "postgresql":
        pytest.skip("the mailbox-mail statement is PostgreSQL's")
    from mailbox import release

    people = [PersonFactory() for _ in range(3)]
    # Stored round-robin, as a mass send arrives: the first batch still holds whole mailboxes.
    messages = [_held(sender, sender_system, people[n % 3].cpr) for n in range(6)]
    assert release._release_mailbox_batch(TOMORROW, 2) == 2
    first = people[0].mailbox.pk
    assert sorted(MailboxItem.objects.values_list("mailbox_id", flat=True)) == [first, first]
    assert set(MailboxItem.objects.values_list("message_id", flat=True)) == {messages[0].pk, messages[3].pk}
