import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from mailbox.models import Folder, Mailbox
from rights.models import Person, User
from tests.factories import PersonFactory, row_counts

MODELS = (Person, User, Mailbox, Folder)


def run(*args) -> dict:
    out = StringIO()
    call_command("create_person", *args, stdout=out)
    assert out.getvalue().count("\n") == 1, "prints exactly one line"
    return json.loads(out.getvalue())


def test_it_creates_a_person_with_mailbox_and_login_and_prints_it(db):
    printed = run(
        "--cpr", "010190-1234", "--name", "Jens Jensen", "--email", "jens@example.dk",
        "--mobile", "+4512345678", "--address", "Vestergade 1\n8000 Aarhus C",
    )  # fmt: skip

    person = Person.objects.get(cpr="0101901234")
    assert printed == {
        "cpr": "0101901234",
        "name": "Jens Jensen",
        "email": "jens@example.dk",
        "mobile": "+4512345678",
        "mailboxId": person.mailbox.pk,
    }
    assert person.address == "Vestergade 1\n8000 Aarhus C"
    assert person.user.username == "cpr-0101901234"
    assert Folder.objects.filter(mailbox=person.mailbox).count() == 4


def test_contact_details_are_optional(db):
    printed = run("--cpr", "0101901234", "--name", "Jens Jensen")

    person = Person.objects.get(cpr="0101901234")
    assert printed == {
        "cpr": "0101901234",
        "name": "Jens Jensen",
        "email": "",
        "mobile": "",
        "mailboxId": person.mailbox.pk,
    }
    assert person.address == ""


GOOD = ["--cpr", "0101901234", "--name", "Jens Jensen"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--cpr", "01019012", "--name", "Jens"], "--cpr: A CPR number is 10 digits (DDMMYYXXXX)."),
        (["--cpr", "010190123X", "--name", "Jens"], "--cpr: A CPR number is 10 digits (DDMMYYXXXX)."),
        (["--cpr", "0101901234", "--name", " "], "--name: A person needs a name."),
        (["--cpr", "0101901234", "--name", "x" * 201], "--name: A name is at most 200 characters."),
        ([*GOOD, "--email", "jens@"], "--email: 'jens@' is not an e-mail address."),
        ([*GOOD, "--email", "jens example.dk"], "--email: 'jens example.dk' is not an e-mail address."),
        (
            [*GOOD, "--mobile", "1234567"],
            "--mobile: '1234567' is not a mobile number (8-15 digits, optional +).",
        ),
        (
            [*GOOD, "--mobile", "1234567890123456"],
            "--mobile: '1234567890123456' is not a mobile number (8-15 digits, optional +).",
        ),
        (
            [*GOOD, "--mobile", "12 34 56 78"],
            "--mobile: '12 34 56 78' is not a mobile number (8-15 digits, optional +).",
        ),
    ],
)
def test_it_refuses_a_bad_argument_and_changes_nothing(db, args, message):
    before = row_counts(*MODELS)

    with pytest.raises(CommandError) as refused:
        run(*args)

    assert str(refused.value) == message
    assert row_counts(*MODELS) == before


def test_it_refuses_a_cpr_that_is_already_registered(db):
    PersonFactory(cpr="0101901234", name="The first one")
    before = row_counts(*MODELS)

    with pytest.raises(CommandError) as refused:
        run(*GOOD)

    assert str(refused.value) == "--cpr: A person with CPR 0101901234 already exists."
    assert row_counts(*MODELS) == before


def test_it_refuses_a_missing_name(db):
    with pytest.raises(CommandError, match=r"the following arguments are required: --name"):
        run("--cpr", "0101901234")
    assert Person.objects.count() == 0
