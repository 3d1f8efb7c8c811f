"""Usage statistics: exact numbers for a small seeded set, by local day, and the CSV exports."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from adminaccess.models import System
from adminaccess.selectors import default_statistics_period, usage_statistics
from mailbox.models import Delivery, MailboxItem, Message, PrintJob
from tests.adminaccess.eventlog.helpers import Role, staff_member
from tests.factories import OrganisationFactory, PersonFactory, make_message, make_system

pytestmark = pytest.mark.django_db

TZ = timezone.get_default_timezone()
D1, D2, D3 = date(2026, 11, 10), date(2026, 11, 11), date(2026, 11, 12)


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=TZ)


def _sent(kommune, system, when, *, delivered_at=None, read=False, **fields):
    message = make_message(
        sender=kommune, recipient=PersonFactory(), sender_system=system, created_at=when, **fields
    )
    if delivered_at is not None:
        MailboxItem.objects.filter(message=message).update(
            received_at=delivered_at, read_at=delivered_at if read else None
        )
    return message


@pytest.fixture
def seeded():
    kommune = OrganisationFactory(name="Kommunen")
    other = OrganisationFactory(name="Naboen")
    system = make_system(kommune, name="Ydelsessystem")[0]
    inbox_system = make_system(kommune, kind=System.Kind.RECIPIENT, name="Indbakke")[0]
    # Sent on D1: two at noon (one read), one late in the evening, which is still D1 in Denmark
    # though already D2 nowhere (22:30 UTC).
    _sent(kommune, system, local(D1, 12), delivered_at=local(D1, 12), read=True)
    _sent(kommune, system, local(D1, 12), delivered_at=local(D1, 13))
    _sent(kommune, system, local(D1, 23, 30), delivered_at=local(D2, 8), read=True)
    # Sent on D2 with no system (the test portal), to remote print, exported on D3.
    printed = _sent(
        kommune, None, local(D2, 9), channel=Message.Channel.REMOTE_PRINT, state=Message.State.ACCEPTED
    )
    PrintJob.objects.create(
        message=printed, state=PrintJob.State.EXPORTED, address="Vej 1", exported_at=local(D3, 10)
    )
    # A delivery that failed for good on D3.
    failed = _sent(
        kommune, system, local(D3, 9), channel=Message.Channel.REMOTE_PRINT, state=Message.State.FAILED
    )
    Delivery.objects.create(
        message=failed, channel=failed.channel, state=Delivery.State.FAILED, completed_at=local(D3, 9, 5)
    )
    # Outside the period: just after midnight after D3.
    _sent(kommune, system, local(date(2026, 11, 13), 0, 30), delivered_at=local(date(2026, 11, 13), 0, 30))
    # Received on D2: two letters to the authority's recipient system.
    for _ in range(2):
        make_message(
            sender=other,
            recipient=PersonFactory(),
            recipient_id_type="CVR",
            recipient_id=kommune.cvr,
            recipient_mailbox=None,
            recipient_organisation=kommune,
            recipient_system=inbox_system,
            channel=Message.Channel.RECIPIENT_SYSTEM,
            state=Message.State.ACCEPTED,
            created_at=local(D2, 14),
        )
    # Another organisation's traffic is never counted.
    _sent(other, make_system(other)[0], local(D1, 12), delivered_at=local(D1, 12), read=True)
    return {"kommune": kommune, "system": system, "inbox_system": inbox_system}


def _days(stats):
    return [
        (d.day, d.sent, d.received, d.delivered_to_mailboxes, d.read, d.printed, d.failed) for d in stats.days
    ]


def test_the_numbers_are_exact_per_local_day(seeded):
    stats = usage_statistics(organisation=seeded["kommune"], date_from=D1, date_to=D3)
    assert _days(stats) == [
        (D1, 3, 0, 2, 1, 0, 0),
        (D2, 1, 2, 1, 1, 0, 0),
        (D3, 1, 0, 0, 0, 1, 1),
    ]
    assert stats.read_share == pytest.approx(2 / 3)
    assert stats.days[0].read_share == pytest.approx(1 / 2)
    assert stats.days[2].read_share is None


def test_the_numbers_are_exact_per_system(seeded):
    stats = usage_statistics(organisation=seeded["kommune"], date_from=D1, date_to=D3)
    assert [(s.name, s.sent, s.received) for s in stats.systems] == [
        ("Indbakke", 0, 2),
        ("Ydelsessystem", 4, 0),
        ("", 1, 0),
    ]
    system, inbox = seeded["system"].pk, seeded["inbox_system"].pk
    assert stats.by_day_and_system == [
        (D1, system, 3, 0),
        (D2, inbox, 0, 2),
        (D2, None, 1, 0),
        (D3, system, 1, 0),
    ]


def test_the_numbers_come_from_a_fixed_number_of_aggregate_queries(seeded, django_assert_num_queries):
    with django_assert_num_queries(7):
        usage_statistics(organisation=seeded["kommune"], date_from=D1, date_to=D3)


def test_the_default_period_is_the_last_30_days():
    assert default_statistics_period(date(2026, 12, 1)) == (date(2026, 11, 2), date(2026, 12, 1))


@pytest.fixture
def reader_client(client, seeded):
    reader = staff_member(seeded["kommune"], Role.EVENT_LOG_READER)
    client.force_login(reader.user)
    return client


def test_the_page_shows_charts_with_tables(reader_client):
    response = reader_client.get(
        reverse("adminaccess:statistics"), {"date_from": "2026-11-10", "date_to": "2026-11-12"}
    )
    assert response.status_code == 200
    assert response.context["totals"] == {
        "sent": 5,
        "received": 2,
        "delivered_to_mailboxes": 3,
        "read": 2,
        "printed": 1,
        "failed": 1,
    }
    body = response.content.decode()
    assert body.count('class="usage-chart m-0" aria-hidden="true"') == 2
    # One column per series per day; the tallest reaches the top line.
    chart = response.context["traffic_chart"]
    assert [(b["day"], b["value"]) for b in chart["bars"]] == [
        (D1, 3),
        (D1, 0),
        (D2, 1),
        (D2, 2),
        (D3, 1),
        (D3, 0),
    ]
    assert chart["bars"][0]["y"] == chart["top"]
    assert 'id="days"' in body and 'id="read-share"' in body and 'id="systems"' in body
    assert "Ydelsessystem" in body


def test_the_page_defaults_to_the_last_30_days(reader_client):
    response = reader_client.get(reverse("adminaccess:statistics"))
    assert response.status_code == 200
    stats = response.context["stats"]
    assert (stats.date_from, stats.date_to) == default_statistics_period()
    assert len(stats.days) == 30


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"date_from": "2026-11-12", "date_to": "2026-11-10"}, "date_to"),
        ({"date_from": "2024-01-01", "date_to": "2026-11-10"}, "date_to"),
        ({"date_from": "soon", "date_to": "2026-11-10"}, "date_from"),
        ({"date_to": "2026-11-10"}, "date_from"),
    ],
)
def test_a_bad_period_gets_a_clear_message(reader_client, params, field):
    response = reader_client.get(reverse("adminaccess:statistics"), params)
    assert response.status_code == 400
    assert list(response.context["form"].errors) == [field]
    assert reader_client.get(reverse("adminaccess:statistics-export"), params).status_code == 400


def _csv(response):
    assert response.streaming
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))


def test_the_csv_export_per_day(reader_client):
    response = reader_client.get(
        reverse("adminaccess:statistics-export"), {"date_from": "2026-11-10", "date_to": "2026-11-12"}
    )
    assert response["Content-Disposition"].endswith('-2026-11-10-2026-11-12.csv"')
    assert _csv(response) == [
        ["date", "sent", "received", "delivered_to_mailboxes", "read", "read_share", "printed", "failed"],
        ["2026-11-10", "3", "0", "2", "1", "0.5000", "0", "0"],
        ["2026-11-11", "1", "2", "1", "1", "1.0000", "0", "0"],
        ["2026-11-12", "1", "0", "0", "0", "", "1", "1"],
    ]


def test_the_csv_export_per_system(reader_client):
    response = reader_client.get(
        reverse("adminaccess:statistics-export"),
        {"date_from": "2026-11-10", "date_to": "2026-11-12", "table": "systems"},
    )
    assert _csv(response) == [
        ["date", "system", "sent", "received"],
        ["2026-11-10", "Ydelsessystem", "3", "0"],
        ["2026-11-11", "Indbakke", "0", "2"],
        ["2026-11-11", "", "1", "0"],
        ["2026-11-12", "Ydelsessystem", "1", "0"],
    ]


def test_system_administrators_see_it_and_recall_administrators_do_not(client, seeded):
    admin = staff_member(seeded["kommune"], Role.SYSTEM_ADMINISTRATOR, name="Admin")
    client.force_login(admin.user)
    assert client.get(reverse("adminaccess:statistics")).status_code == 200
    recaller = staff_member(seeded["kommune"], Role.RECALL_ADMINISTRATOR, name="Recaller")
    client.force_login(recaller.user)
    assert client.get(reverse("adminaccess:statistics")).status_code == 403
    assert client.get(reverse("adminaccess:statistics-export")).status_code == 403
