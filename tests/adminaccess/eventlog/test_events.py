"""The event log: only the organisation's events, every filter, keyset pages, CSV export."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from adminaccess.models import Event, System
from adminaccess.selectors import Cursor, EventFilter, events_for_export, events_page
from rights.services import staff_role_grant
from tests.adminaccess.eventlog.helpers import Role, staff_member
from tests.factories import OrganisationFactory, PersonFactory, make_message, make_system

pytestmark = pytest.mark.django_db

TZ = timezone.get_default_timezone()


def at(day: int, hour: int = 12) -> datetime:
    return datetime(2026, 11, day, hour, 0, tzinfo=TZ)


@pytest.fixture
def world():
    """Two authorities, each with systems and messages, and events of every kind of belonging."""
    own = OrganisationFactory(name="Egen Kommune")
    other = OrganisationFactory(name="Anden Kommune")
    sender = make_system(own, name="Eget sagssystem")[0]
    receiver = make_system(own, kind=System.Kind.RECIPIENT, name="Egen postkasse")[0]
    other_sender = make_system(other, name="Andet sagssystem")[0]
    citizen = PersonFactory(name="Borger Bent")
    sent = make_message(sender=own, recipient=citizen)
    received = make_message(
        sender=other,
        recipient=citizen,
        recipient_id_type="CVR",
        recipient_id=own.cvr,
        recipient_organisation=own,
        recipient_mailbox=None,
        channel="RECIPIENT_SYSTEM",
        state="ACCEPTED",
    )
    others_message = make_message(sender=other, recipient=citizen)
    ours = {
        "stamped": Event.objects.create(
            tag=Event.Tag.ROLE_GRANTED, organisation=own, occurred_at=at(1), subject=citizen.cpr
        ),
        "system": Event.objects.create(tag=Event.Tag.API_TOKEN_ROTATED, system=receiver, occurred_at=at(2)),
        "sent": Event.objects.create(
            tag=Event.Tag.MESSAGE_READ,
            message=sent,
            message_uuid=sent.message_uuid,
            actor_person=citizen,
            subject=citizen.cpr,
            occurred_at=at(3),
        ),
        "received": Event.objects.create(
            tag=Event.Tag.MEMO_SEND_VALIDATED,
            organisation=other,
            system=other_sender,
            message=received,
            message_uuid=received.message_uuid,
            subject=own.cvr,
            occurred_at=at(4),
        ),
        # Found by three branches, listed once.
        "everything": Event.objects.create(
            tag=Event.Tag.MEMO_SEND_VALIDATED,
            organisation=own,
            system=sender,
            message=sent,
            message_uuid=sent.message_uuid,
            subject=citizen.cpr,
            occurred_at=at(5),
        ),
    }
    theirs = [
        Event.objects.create(tag=Event.Tag.ROLE_GRANTED, organisation=other, occurred_at=at(6)),
        Event.objects.create(tag=Event.Tag.API_TOKEN_ROTATED, system=other_sender, occurred_at=at(7)),
        Event.objects.create(
            tag=Event.Tag.MESSAGE_READ,
            message=others_message,
            message_uuid=others_message.message_uuid,
            subject=citizen.cpr,
            occurred_at=at(8),
        ),
        Event.objects.create(tag=Event.Tag.SYSTEM_CHANGED, occurred_at=at(9)),
    ]
    return {
        "own": own,
        "other": other,
        "sender": sender,
        "receiver": receiver,
        "other_sender": other_sender,
        "citizen": citizen,
        "sent": sent,
        "ours": ours,
        "theirs": theirs,
    }


def listed(world, flt: EventFilter | None = None, **kwargs) -> list[int]:
    """Ids of the events in the log for ``flt``, restricted to the ones the test wrote."""
    known = {e.pk for e in world["ours"].values()} | {e.pk for e in world["theirs"]}
    page = events_page(organisation=world["own"], flt=flt or EventFilter(), **kwargs)
    return [e.pk for e in page.events if e.pk in known]


def ids(world, *names) -> list[int]:
    return [world["ours"][name].pk for name in names]


def test_it_lists_exactly_the_organisations_events_newest_first(world):
    assert listed(world) == ids(world, "everything", "received", "sent", "system", "stamped")


def test_it_never_lists_another_organisations_events(world):
    own_events = events_page(organisation=world["own"], flt=EventFilter(), size=1000).events
    assert not {e.pk for e in world["theirs"]} & {e.pk for e in own_events}
    other_events = events_page(organisation=world["other"], flt=EventFilter(), size=1000).events
    assert world["ours"]["stamped"].pk not in {e.pk for e in other_events}
    assert world["ours"]["system"].pk not in {e.pk for e in other_events}


def test_it_filters_by_date(world):
    flt = EventFilter(date_from=at(2).date(), date_to=at(4).date())
    assert listed(world, flt) == ids(world, "received", "sent", "system")


def test_the_to_date_includes_the_whole_day(world):
    late = Event.objects.create(tag=Event.Tag.ROLE_GRANTED, organisation=world["own"], occurred_at=at(5, 23))
    flt = EventFilter(date_from=at(5).date(), date_to=at(5).date())
    page = events_page(organisation=world["own"], flt=flt)
    assert [e.pk for e in page.events] == [late.pk, world["ours"]["everything"].pk]


def test_it_filters_by_tag(world):
    assert listed(world, EventFilter(tag=Event.Tag.MEMO_SEND_VALIDATED)) == ids(
        world, "everything", "received"
    )


def test_it_filters_by_system(world):
    flt = EventFilter(system=world["receiver"])
    assert listed(world, flt) == ids(world, "system")
    # The system's own SYSTEM_CREATED is there too; nothing about another system is.
    page = events_page(organisation=world["own"], flt=flt)
    assert {e.system_id for e in page.events} == {world["receiver"].pk}


def test_it_filters_by_subject(world):
    flt = EventFilter(subject=world["citizen"].cpr)
    assert listed(world, flt) == ids(world, "everything", "sent", "stamped")


def test_it_filters_by_message_uuid(world):
    flt = EventFilter(message_uuid=world["sent"].message_uuid)
    page = events_page(organisation=world["own"], flt=flt)
    assert [e.pk for e in page.events] == ids(world, "everything", "sent")


def test_an_unknown_message_uuid_finds_nothing(world):
    assert events_page(organisation=world["own"], flt=EventFilter(message_uuid=uuid.uuid4())).events == []


def test_it_pages_by_keyset_in_both_directions():
    organisation = OrganisationFactory()
    made = [
        Event.objects.create(tag=Event.Tag.ROLE_GRANTED, organisation=organisation, occurred_at=at(10))
        for _ in range(4)
    ] + [Event.objects.create(tag=Event.Tag.ROLE_GRANTED, organisation=organisation, occurred_at=at(9))]
    # Newest first; equal times are ordered by id, newest id first.
    expected = [e.pk for e in sorted(made, key=lambda e: (e.occurred_at, e.pk), reverse=True)]
    first = events_page(organisation=organisation, flt=EventFilter(), size=2)
    second = events_page(organisation=organisation, flt=EventFilter(), size=2, after=first.older)
    third = events_page(organisation=organisation, flt=EventFilter(), size=2, after=second.older)
    assert [[e.pk for e in p.events] for p in (first, second, third)] == [
        expected[:2],
        expected[2:4],
        expected[4:],
    ]
    assert (first.newer, third.older) == (None, None)
    back = events_page(organisation=organisation, flt=EventFilter(), size=2, before=third.newer)
    assert [e.pk for e in back.events] == expected[2:4]
    assert [
        e.pk
        for e in events_page(organisation=organisation, flt=EventFilter(), size=2, before=back.newer).events
    ] == expected[:2]


def test_a_cursor_survives_its_round_trip_and_a_tampered_one_is_ignored():
    cursor = Cursor(at(3), 42)
    assert Cursor.decode(cursor.encode()) == cursor
    assert Cursor.decode("not-a-cursor") is None
    assert Cursor.decode("2026-11-01T12:00:00_7") is None  # naive time


def test_the_export_holds_every_filtered_event_across_chunks(world):
    flt = EventFilter(tag=Event.Tag.ROLE_GRANTED)
    for day in range(10, 17):
        Event.objects.create(tag=Event.Tag.ROLE_GRANTED, organisation=world["own"], occurred_at=at(day))
    exported = [e.pk for e in events_for_export(organisation=world["own"], flt=flt, chunk=3)]
    expected = list(
        Event.objects.filter(organisation=world["own"], tag=Event.Tag.ROLE_GRANTED)
        .order_by("-occurred_at", "-id")
        .values_list("pk", flat=True)
    )
    assert exported == expected
    assert len(expected) == 8


# --- The pages --------------------------------------------------------------------------


def test_the_page_shows_who_did_it_and_the_details(client, world):
    reader = staff_member(world["own"], Role.EVENT_LOG_READER)
    client.force_login(reader.user)
    response = client.get(reverse("adminaccess:events"), {"message_uuid": str(world["sent"].message_uuid)})
    assert response.status_code == 200
    body = response.content.decode()
    assert "Borger Bent" in body  # the person who read it
    assert "Eget sagssystem" in body  # the system that sent it
    assert body.count("<code>MESSAGE_READ</code>") == 1
    assert body.count("<code>MEMO_SEND_VALIDATED</code>") == 1


def test_the_page_never_shows_another_organisations_events(client, world):
    reader = staff_member(world["own"], Role.EVENT_LOG_READER)
    client.force_login(reader.user)
    response = client.get(reverse("adminaccess:events"))
    rows = [e.pk for e in response.context["page"].events]
    assert not {e.pk for e in world["theirs"]} & set(rows)
    assert set(ids(world, "stamped", "system", "sent", "received", "everything")) <= set(rows)


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"date_from": "2026-13-45"}, "date_from", "Enter a valid date."),
        ({"message_uuid": "not-a-uuid"}, "message_uuid", "Enter a message UUID"),
        ({"subject": "12345"}, "subject", "Enter a CPR number (10 digits) or a CVR number (8 digits)."),
        ({"date_from": "2026-11-05", "date_to": "2026-11-01"}, "date_to", "The to date must be on or after"),
        ({"tag": "NO_SUCH_TAG"}, "tag", "Select a valid choice."),
    ],
)
def test_a_bad_filter_gets_a_clear_message_and_no_events(client, world, params, field, message):
    reader = staff_member(world["own"], Role.EVENT_LOG_READER)
    client.force_login(reader.user)
    response = client.get(reverse("adminaccess:events"), params)
    assert response.status_code == 400
    form = response.context["form"]
    assert list(form.errors) == [field]
    assert message in form.errors[field][0]
    assert f'id="id_{field}-error"' in response.content.decode()
    assert 'aria-describedby="' in response.content.decode()
    assert response.context["rows"] == []


def test_another_organisations_system_is_not_a_valid_filter(client, world):
    reader = staff_member(world["own"], Role.EVENT_LOG_READER)
    client.force_login(reader.user)
    response = client.get(reverse("adminaccess:events"), {"system": world["other_sender"].pk})
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["system"]


def test_a_subject_may_be_written_with_a_dash(client, world):
    reader = staff_member(world["own"], Role.EVENT_LOG_READER)
    client.force_login(reader.user)
    cpr = world["citizen"].cpr
    response = client.get(reverse("adminaccess:events"), {"subject": f"{cpr[:6]}-{cpr[6:]}"})
    assert response.status_code == 200
    assert {e.subject for e in response.context["page"].events} == {cpr}


def test_the_page_links_to_older_events(client):
    organisation = OrganisationFactory()
    for day in range(1, 4):
        Event.objects.create(tag=Event.Tag.SYSTEM_CHANGED, organisation=organisation, occurred_at=at(day))
    reader = staff_member(organisation, Role.EVENT_LOG_READER)
    client.force_login(reader.user)
    flt = EventFilter(tag=Event.Tag.SYSTEM_CHANGED)
    older = events_page(organisation=organisation, flt=flt, size=2).older
    response = client.get(reverse("adminaccess:events"), {"tag": flt.tag, "after": older.encode()})
    assert [e.occurred_at for e in response.context["page"].events] == [at(1)]
    body = response.content.decode()
    assert 'rel="prev"' in body and 'rel="next"' not in body


def test_it_refuses_staff_without_the_event_log_role(client, world):
    recaller = staff_member(world["own"], Role.RECALL_ADMINISTRATOR)
    client.force_login(recaller.user)
    assert client.get(reverse("adminaccess:events")).status_code == 403
    assert client.get(reverse("adminaccess:events-export")).status_code == 403


def test_anonymous_visitors_log_in_first(client):
    response = client.get(reverse("adminaccess:events"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def _csv(response) -> list[list[str]]:
    assert response.streaming
    text = b"".join(response.streaming_content).decode("utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_the_csv_export_holds_the_filtered_events(client, world):
    reader = staff_member(world["own"], Role.EVENT_LOG_READER)
    client.force_login(reader.user)
    response = client.get(
        reverse("adminaccess:events-export"), {"message_uuid": str(world["sent"].message_uuid)}
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="event-log-')
    rows = _csv(response)
    assert rows[0] == [
        "occurred_at",
        "tag",
        "actor_kind",
        "actor",
        "system",
        "message_uuid",
        "subject",
        "details",
    ]
    uuid_text = str(world["sent"].message_uuid)
    cpr = world["citizen"].cpr
    assert rows[1:] == [
        [
            timezone.localtime(at(5)).isoformat(),
            "MEMO_SEND_VALIDATED",
            "system",
            "Eget sagssystem",
            "Eget sagssystem",
            uuid_text,
            cpr,
            "",
        ],
        [
            timezone.localtime(at(3)).isoformat(),
            "MESSAGE_READ",
            "person",
            "Borger Bent",
            "",
            uuid_text,
            cpr,
            "",
        ],
    ]


def test_the_csv_export_cannot_smuggle_a_formula(client):
    organisation = OrganisationFactory()
    system = make_system(organisation, name='=HYPERLINK("http://evil.example","x")')[0]
    Event.objects.create(
        tag=Event.Tag.SYSTEM_CHANGED, organisation=organisation, system=system, details={"name": "@SUM(1)"}
    )
    reader = staff_member(organisation, Role.EVENT_LOG_READER)
    client.force_login(reader.user)
    rows = _csv(client.get(reverse("adminaccess:events-export"), {"tag": Event.Tag.SYSTEM_CHANGED}))
    [row] = rows[1:]
    assert row[3] == row[4] == '\'=HYPERLINK("http://evil.example","x")'
    assert row[7] == '{"name": "@SUM(1)"}'
    assert not any(cell.startswith(("=", "+", "-", "@")) for cell in row)


def test_the_csv_export_refuses_a_bad_filter(client, world):
    reader = staff_member(world["own"], Role.EVENT_LOG_READER)
    client.force_login(reader.user)
    response = client.get(reverse("adminaccess:events-export"), {"date_to": "yesterday"})
    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["date_to"]


def test_a_page_costs_three_queries_and_never_counts_the_log(world):
    with CaptureQueriesContext(connection) as queries:
        page = events_page(organisation=world["own"], flt=EventFilter(), size=2)
        [(e.system, e.actor_person, e.actor_user) for e in page.events]
    sql = [q["sql"] for q in queries.captured_queries]
    assert len(sql) == 3  # the organisation's systems, the UNION of branches, the page's events
    assert not any("COUNT(" in s.upper() for s in sql)
    # One branch per way of belonging: stamped, each of its two systems, sent and received mail.
    assert sql[1].count(" UNION ") == 4


def test_staff_of_two_organisations_see_only_the_one_they_work_for(client):
    first = OrganisationFactory(name="A Kommune")
    second = OrganisationFactory(name="B Kommune")
    in_first = Event.objects.create(tag=Event.Tag.SYSTEM_CHANGED, organisation=first)
    in_second = Event.objects.create(tag=Event.Tag.SYSTEM_CHANGED, organisation=second)
    reader = staff_member(first, Role.EVENT_LOG_READER)
    staff_role_grant(user=reader.user, organisation=second, role=Role.EVENT_LOG_READER)
    client.force_login(reader.user)
    params = {"tag": Event.Tag.SYSTEM_CHANGED}
    shown = [e.pk for e in client.get(reverse("adminaccess:events"), params).context["page"].events]
    assert shown == [in_first.pk]
    client.post(reverse("adminaccess:switch-organisation"), {"organisation": second.pk})
    shown = [e.pk for e in client.get(reverse("adminaccess:events"), params).context["page"].events]
    assert shown == [in_second.pk]
