"""Recall by staff: one message, a whole mass send, never another organisation's."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.urls import reverse

from adminaccess.models import Event
from adminaccess.recall import messages_recall_mass
from adminaccess.selectors import RecallFilter
from mailbox.models import Delivery, MailboxItem, Message
from mailbox.release import release_due
from mailbox.sending import memo_send_many
from tests.adminaccess.eventlog.helpers import Role, held, staff_member, tomorrow
from tests.factories import OrganisationFactory, PersonFactory, make_system, row_counts
from tests.mailbox.api.helpers import letter

pytestmark = pytest.mark.django_db


@pytest.fixture
def kommune():
    return OrganisationFactory(name="Kommunen")


@pytest.fixture
def system(kommune):
    return make_system(kommune, name="Ydelsessystem")[0]


@pytest.fixture
def recaller(kommune):
    return staff_member(kommune, Role.RECALL_ADMINISTRATOR)


@pytest.fixture
def staff_client(client, recaller):
    client.force_login(recaller.user)
    return client


def _state(message):
    message.refresh_from_db()
    return message.state, Delivery.objects.get(message=message).state


def _recall_events(**filters):
    return Event.objects.filter(tag=Event.Tag.MESSAGE_RECALLED_BY_ADMINISTRATOR, **filters)


# --- Finding --------------------------------------------------------------------------------


def test_the_search_lists_only_this_organisations_held_messages(staff_client, kommune, system):
    mine = held(kommune, system, label="Mit brev")
    other = OrganisationFactory()
    theirs = held(other, make_system(other)[0], label="Deres brev")
    delivered = held(kommune, system, value_date=tomorrow(), label="Udsendt brev")
    release_due(today=tomorrow())
    mine_after = held(kommune, system, label="Mit andet brev")
    response = staff_client.get(reverse("adminaccess:recall"))
    assert response.status_code == 200
    assert [m.pk for m in response.context["held"]] == [mine_after.pk]
    assert response.context["count"] == 1
    assert {mine.pk, theirs.pk, delivered.pk}.isdisjoint(m.pk for m in response.context["held"])


def test_the_search_filters_by_system_date_uuid_and_recipient(staff_client, kommune, system):
    person = PersonFactory()
    later = tomorrow() + timedelta(days=3)
    other_system = make_system(kommune, name="Andet system")[0]
    a = held(kommune, system, recipient=person)
    b = held(kommune, system, value_date=later)
    c = held(kommune, other_system)
    url = reverse("adminaccess:recall")

    def found(**params):
        return {m.pk for m in staff_client.get(url, params).context["held"]}

    assert found(sender_system=system.pk) == {a.pk, b.pk}
    assert found(value_date=later.isoformat()) == {b.pk}
    assert found(message_uuid=str(c.message_uuid)) == {c.pk}
    assert found(recipient=person.cpr) == {a.pk}


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"value_date": "31-31-2026"}, "value_date"),
        ({"message_uuid": "123"}, "message_uuid"),
        ({"recipient": "abc"}, "recipient"),
        ({"batch_id": "x"}, "batch_id"),
    ],
)
def test_a_bad_search_gets_a_clear_message(staff_client, params, field):
    response = staff_client.get(reverse("adminaccess:recall"), params)
    assert response.status_code == 400
    assert list(response.context["form"].errors) == [field]


def test_another_organisations_sender_system_is_not_a_valid_choice(staff_client, kommune):
    other = OrganisationFactory()
    theirs = make_system(other)[0]
    held(other, theirs)
    response = staff_client.get(reverse("adminaccess:recall"), {"sender_system": theirs.pk})
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["sender_system"]


# --- One message ----------------------------------------------------------------------------


def test_recalling_one_message_asks_first_then_recalls_it(staff_client, kommune, system, recaller):
    message = held(kommune, system, label="Årsopgørelse")
    url = reverse("adminaccess:recall-one", args=[message.message_uuid])
    confirm = staff_client.get(url)
    assert confirm.status_code == 200
    assert "Yes, recall the message" in confirm.content.decode()
    assert _state(message) == (Message.State.HELD, Delivery.State.HELD)

    response = staff_client.post(url)
    assert response.status_code == 302
    assert response["Location"] == reverse("adminaccess:recall")
    assert _state(message) == (Message.State.RECALLED, Delivery.State.CANCELLED)
    assert message.recalled_by == recaller.user
    [event] = _recall_events(message=message)
    assert (event.actor_user, event.organisation, event.subject) == (
        recaller.user,
        kommune,
        message.recipient_id,
    )
    release_due(today=tomorrow())
    assert not MailboxItem.objects.filter(message=message).exists()


def test_an_already_delivered_message_is_reported_and_not_recalled(staff_client, kommune, system):
    message = held(kommune, system)
    release_due(today=tomorrow())
    before = row_counts(Event, Message, Delivery)
    response = staff_client.post(reverse("adminaccess:recall-one", args=[message.message_uuid]))
    assert response.status_code == 409
    assert "already been delivered" in response.content.decode()
    assert _state(message) == (Message.State.DELIVERED, Delivery.State.DONE)
    assert row_counts(Event, Message, Delivery) == before


def test_another_organisations_message_is_not_found(staff_client, kommune):
    other = OrganisationFactory()
    theirs = held(other, make_system(other)[0])
    url = reverse("adminaccess:recall-one", args=[theirs.message_uuid])
    before = row_counts(Event, Message, Delivery)
    assert staff_client.get(url).status_code == 404
    assert staff_client.post(url).status_code == 404
    assert _state(theirs) == (Message.State.HELD, Delivery.State.HELD)
    assert row_counts(Event, Message, Delivery) == before


def test_an_unknown_message_is_not_found(staff_client):
    assert staff_client.get(reverse("adminaccess:recall-one", args=[uuid.uuid4()])).status_code == 404


def test_it_refuses_staff_without_the_recall_role(client, kommune, system):
    message = held(kommune, system)
    reader = staff_member(kommune, Role.EVENT_LOG_READER, name="Læser")
    client.force_login(reader.user)
    assert client.get(reverse("adminaccess:recall")).status_code == 403
    assert client.post(reverse("adminaccess:recall-one", args=[message.message_uuid])).status_code == 403
    mass = {"sender_system": system.pk, "value_date": tomorrow().isoformat()}
    assert client.post(reverse("adminaccess:recall-mass"), mass).status_code == 403
    assert _state(message) == (Message.State.HELD, Delivery.State.HELD)


# --- A mass send ----------------------------------------------------------------------------


def test_a_mass_send_is_recalled_after_confirming_the_count(staff_client, kommune, system, recaller):
    send = [held(kommune, system) for _ in range(3)]
    later = held(kommune, system, value_date=tomorrow() + timedelta(days=1))
    other_system = held(kommune, make_system(kommune, name="Andet")[0])
    params = {"sender_system": system.pk, "value_date": tomorrow().isoformat()}

    search = staff_client.get(reverse("adminaccess:recall"), params)
    assert "Recall the whole mass send (3 messages)" in search.content.decode()
    confirm = staff_client.get(reverse("adminaccess:recall-mass"), params)
    assert confirm.status_code == 200
    assert confirm.context["count"] == 3
    assert "3 messages will be recalled" in confirm.content.decode()
    assert all(_state(m) == (Message.State.HELD, Delivery.State.HELD) for m in send)

    response = staff_client.post(reverse("adminaccess:recall-mass"), params, follow=True)
    assert response.status_code == 200
    assert "3 messages were recalled." in response.content.decode()
    assert "already been released" not in response.content.decode()
    assert [_state(m) for m in send] == [(Message.State.RECALLED, Delivery.State.CANCELLED)] * 3
    assert _state(later) == _state(other_system) == (Message.State.HELD, Delivery.State.HELD)
    events = _recall_events(organisation=kommune)
    assert sorted(events.values_list("message_id", flat=True)) == sorted(m.pk for m in send)
    assert {(e.actor_user_id, e.system_id, e.message_uuid) for e in events} == {
        (recaller.user.pk, system.pk, m.message_uuid) for m in send
    }
    assert {e.details["valueDate"] for e in events} == {tomorrow().isoformat()}


def test_a_mass_recall_reports_what_had_already_gone(staff_client, kommune, system):
    gone = [held(kommune, system) for _ in range(2)]
    release_due(today=tomorrow())
    still_held = [held(kommune, system) for _ in range(3)]
    params = {"sender_system": system.pk, "value_date": tomorrow().isoformat()}
    response = staff_client.post(reverse("adminaccess:recall-mass"), params, follow=True)
    body = response.content.decode()
    assert "3 messages were recalled." in body
    assert "2 messages had already been released and were not recalled." in body
    assert [_state(m)[0] for m in gone] == [Message.State.DELIVERED] * 2
    assert [_state(m)[0] for m in still_held] == [Message.State.RECALLED] * 3


def test_a_batch_is_recalled_as_a_mass_send(staff_client, kommune, system):
    batch_id = uuid.uuid4()
    people = [PersonFactory() for _ in range(3)]
    items = []
    for number, person in enumerate(people):
        _, data = letter(sender_cvr=kommune.cvr, recipient_id=person.cpr, value_date=tomorrow())
        items.append((f"{number}.xml", data))
    assert memo_send_many(items=items, system=system, batch_id=batch_id) == ["RECEIVED"] * 3
    outside = held(kommune, system)
    response = staff_client.post(reverse("adminaccess:recall-mass"), {"batch_id": str(batch_id)}, follow=True)
    assert "3 messages were recalled." in response.content.decode()
    in_batch = Message.objects.filter(recipient_id__in=[p.cpr for p in people])
    assert set(in_batch.values_list("state", flat=True)) == {Message.State.RECALLED}
    assert _state(outside) == (Message.State.HELD, Delivery.State.HELD)
    assert _recall_events(organisation=kommune).count() == 3


def test_a_mass_recall_needs_a_system_and_date_or_a_batch(staff_client, kommune, system):
    message = held(kommune, system)
    before = row_counts(Event, Message, Delivery)
    response = staff_client.post(reverse("adminaccess:recall-mass"), {"sender_system": system.pk})
    assert response.status_code == 400
    assert "Choose a sender system and a value date, or a batch" in response.content.decode()
    assert staff_client.get(reverse("adminaccess:recall-mass")).status_code == 400
    assert row_counts(Event, Message, Delivery) == before
    assert _state(message) == (Message.State.HELD, Delivery.State.HELD)


def test_a_mass_recall_never_touches_another_organisations_send(kommune, system, recaller):
    other = OrganisationFactory()
    theirs = [held(other, make_system(other)[0]) for _ in range(2)]
    flt = RecallFilter(sender_system=system, value_date=tomorrow())
    result = messages_recall_mass(organisation=kommune, flt=flt, actor_user=recaller.user)
    assert (result.recalled, result.already_gone) == (0, 0)
    # Even when handed another organisation's system, it only looks among its own messages.
    flt = RecallFilter(sender_system=theirs[0].sender_system, value_date=tomorrow())
    result = messages_recall_mass(organisation=kommune, flt=flt, actor_user=recaller.user)
    assert (result.recalled, result.already_gone) == (0, 0)
    assert [_state(m) for m in theirs] == [(Message.State.HELD, Delivery.State.HELD)] * 2


def test_the_mass_recall_works_in_chunks_and_counts_exactly(kommune, system, recaller):
    send = [held(kommune, system) for _ in range(5)]
    flt = RecallFilter(sender_system=system, value_date=tomorrow())
    result = messages_recall_mass(organisation=kommune, flt=flt, actor_user=recaller.user, chunk=2)
    assert (result.recalled, result.already_gone) == (5, 0)
    assert [_state(m) for m in send] == [(Message.State.RECALLED, Delivery.State.CANCELLED)] * 5
    assert _recall_events().count() == 5
    again = messages_recall_mass(organisation=kommune, flt=flt, actor_user=recaller.user, chunk=2)
    assert (again.recalled, again.already_gone) == (0, 0)
    assert _recall_events().count() == 5


def test_the_mass_send_button_counts_the_whole_send_even_when_the_list_is_narrowed(
    staff_client, kommune, system
):
    person = PersonFactory()
    held(kommune, system, recipient=person)
    held(kommune, system)
    params = {"sender_system": system.pk, "value_date": tomorrow().isoformat(), "recipient": person.cpr}
    response = staff_client.get(reverse("adminaccess:recall"), params)
    assert (response.context["count"], response.context["mass_count"]) == (1, 2)
    assert "Recall the whole mass send (2 messages)" in response.content.decode()
    assert "recipient" not in response.context["mass_query"]
