import json
from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from adminaccess.models import Event
from mailbox.models import Exemption
from tests.factories import CompanyFactory, PersonFactory, make_exemption, row_counts

MODELS = (Exemption, Event)


def run(*args) -> dict:
    out = StringIO()
    call_command("exempt", *args, stdout=out)
    assert out.getvalue().count("\n") == 1, "prints exactly one line"
    return json.loads(out.getvalue())


@pytest.fixture
def person(db):
    return PersonFactory(cpr="0101901234", address="Vestergade 1\n8000 Aarhus C")


@pytest.fixture
def company(db):
    return CompanyFactory(cvr="12345678")


def test_it_exempts_a_person_from_today_to_their_postal_address(person):
    printed = run("--cpr", "0101901234")

    today = timezone.localdate()
    exemption = Exemption.objects.get()
    assert printed == {
        "mailboxId": person.mailbox.pk,
        "subject": "0101901234",
        "reason": "Exempted by command",
        "validFrom": today.isoformat(),
        "validUntil": None,
        "ended": False,
    }
    assert exemption.mailbox == person.mailbox
    assert exemption.print_address == "Vestergade 1\n8000 Aarhus C"
    assert exemption.ended_at is None
    assert exemption.covers(today)
    event = Event.objects.get()
    assert (event.tag, event.subject, event.organisation, event.mailbox) == (
        Event.Tag.DIGITAL_POST_EXEMPTED,
        "0101901234",
        None,
        person.mailbox,
    )


def test_it_exempts_a_company_for_a_period_with_a_reason_and_address(company):
    start, end = timezone.localdate() + timedelta(days=1), timezone.localdate() + timedelta(days=30)

    printed = run(
        "--cvr", "12345678", "--reason", "Konkursbo", "--from", start.isoformat(),
        "--until", end.isoformat(), "--print-address", "Postboks 7\n2100 København Ø",
    )  # fmt: skip

    exemption = Exemption.objects.get()
    assert printed == {
        "mailboxId": company.mailbox.pk,
        "subject": "12345678",
        "reason": "Konkursbo",
        "validFrom": start.isoformat(),
        "validUntil": end.isoformat(),
        "ended": False,
    }
    assert (exemption.valid_from, exemption.valid_until) == (start, end)
    assert exemption.print_address == "Postboks 7\n2100 København Ø"
    event = Event.objects.get()
    assert (event.tag, event.subject, event.organisation) == (
        Event.Tag.DIGITAL_POST_EXEMPTED,
        "12345678",
        None,
    )
    assert event.details == {
        "reason": "Konkursbo",
        "validFrom": start.isoformat(),
        "validUntil": end.isoformat(),
    }


def test_end_closes_the_open_exemption(person):
    exemption = make_exemption(
        mailbox=person.mailbox, reason="No digital access", valid_from=date(2024, 1, 2)
    )

    printed = run("--cpr", "0101901234", "--end")

    exemption.refresh_from_db()
    assert printed == {
        "mailboxId": person.mailbox.pk,
        "subject": "0101901234",
        "reason": "No digital access",
        "validFrom": "2024-01-02",
        "validUntil": None,
        "ended": True,
    }
    assert exemption.ended_at is not None
    assert not exemption.covers(timezone.localdate())
    event = Event.objects.get()
    assert (event.tag, event.subject, event.organisation) == (
        Event.Tag.DIGITAL_POST_EXEMPTION_ENDED,
        "0101901234",
        None,
    )


def test_after_ending_an_exemption_a_new_one_can_start(person):
    run("--cpr", "0101901234")
    run("--cpr", "0101901234", "--end")

    printed = run("--cpr", "0101901234", "--reason", "Again")

    assert printed["reason"] == "Again"
    assert Exemption.objects.filter(ended_at__isnull=True).get().reason == "Again"
    assert Exemption.objects.count() == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cpr", "01019012"], "--cpr: A CPR number is 10 digits (DDMMYYXXXX)."),
        (["--cvr", "1234"], "--cvr: A CVR number is 8 digits."),
        (["--cpr", "0202021111"], "--cpr: No person has CPR 0202021111."),
        (["--cvr", "87654321"], "--cvr: No organisation has CVR 87654321."),
        (["--cpr", "0101901234", "--reason", "  "], "--reason: An exemption needs a reason."),
        (["--cpr", "0101901234", "--reason", "x" * 201], "--reason: A reason is at most 200 characters."),
        (
            ["--cpr", "0101901234", "--from", "2024-13-01"],
            "--from: '2024-13-01' is not a date in the form YYYY-MM-DD.",
        ),
        (
            ["--cpr", "0101901234", "--until", "20300101"],
            "--until: '20300101' is not a date in the form YYYY-MM-DD.",
        ),
        (
            ["--cpr", "0101901234", "--from", "2030-02-01", "--until", "2030-01-31"],
            "--until: An exemption cannot end before it starts.",
        ),
        (
            ["--cpr", "0101901234", "--from", "2020-01-01", "--until", "2020-12-31"],
            "--until: An exemption cannot end in the past.",
        ),
        (["--cpr", "0101901234", "--end"], "--cpr: CPR 0101901234 is not exempt."),
        (["--cvr", "12345678", "--end"], "--cvr: CVR 12345678 is not exempt."),
        (
            ["--cpr", "0101901234", "--end", "--reason", "x", "--until", "2030-01-01"],
            "--end: cannot be combined with --reason, --until.",
        ),
    ],
)
def test_it_refuses_a_bad_argument_and_changes_nothing(person, company, args, message):
    before = row_counts(*MODELS)

    with pytest.raises(CommandError) as refused:
        run(*args)

    assert str(refused.value) == message
    assert row_counts(*MODELS) == before


def test_it_refuses_to_exempt_twice(person):
    make_exemption(mailbox=person.mailbox)
    before = row_counts(*MODELS)

    with pytest.raises(CommandError) as refused:
        run("--cpr", "0101901234", "--reason", "Second time")

    assert str(refused.value) == "--cpr: CPR 0101901234 is already exempt."
    assert row_counts(*MODELS) == before


def test_it_needs_exactly_one_of_cpr_and_cvr(person, company):
    with pytest.raises(CommandError, match=r"one of the arguments --cpr --cvr is required"):
        run("--reason", "x")
    with pytest.raises(CommandError, match=r"argument --cvr: not allowed with argument --cpr"):
        run("--cpr", "0101901234", "--cvr", "12345678")
    assert Exemption.objects.count() == 0
