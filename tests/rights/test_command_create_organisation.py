import json
from io import StringIO

import pytest
from django.core.management import call_command, load_command_class
from django.core.management.base import CommandError

from adminaccess.models import Event
from mailbox.models import Folder, Mailbox
from rights.models import Organisation
from tests.factories import OrganisationFactory, row_counts

MODELS = (Organisation, Mailbox, Folder, Event)


def run(*args) -> dict:
    out = StringIO()
    call_command("create_organisation", *args, stdout=out)
    assert out.getvalue().count("\n") == 1, "prints exactly one line"
    return json.loads(out.getvalue())


def test_it_creates_an_authority_with_its_mailbox_and_prints_it(db):
    printed = run(
        "--cvr", "29189838", "--name", "Aarhus Kommune", "--kind", "authority",
        "--legal-notification-allowed", "--mandatory-post-allowed",
        "--technical-contact-email", "it@aarhus.example.dk",
    )  # fmt: skip

    organisation = Organisation.objects.get(cvr="29189838")
    assert printed == {
        "cvr": "29189838",
        "name": "Aarhus Kommune",
        "kind": "AUTHORITY",
        "legalNotificationAllowed": True,
        "mandatoryPostAllowed": True,
        "mailboxId": organisation.mailbox.pk,
    }
    assert organisation.kind == Organisation.Kind.AUTHORITY
    assert organisation.may_send_legal_notification is True
    assert organisation.may_send_mandatory_post is True
    assert organisation.technical_contact_email == "it@aarhus.example.dk"
    assert Folder.objects.filter(mailbox=organisation.mailbox).count() == 4


def test_a_company_gets_no_sender_powers_by_default(db):
    printed = run("--cvr", "12345678", "--name", "Firma ApS", "--kind", "company")

    organisation = Organisation.objects.get(cvr="12345678")
    assert printed == {
        "cvr": "12345678",
        "name": "Firma ApS",
        "kind": "COMPANY",
        "legalNotificationAllowed": False,
        "mandatoryPostAllowed": False,
        "mailboxId": organisation.mailbox.pk,
    }
    assert organisation.technical_contact_email == ""


GOOD = {"--cvr": "12345678", "--name": "Firma ApS", "--kind": "company"}


def _args(**changes) -> list[str]:
    options = {**GOOD, **{f"--{k.replace('_', '-')}": v for k, v in changes.items()}}
    args = []
    for flag, value in options.items():
        if value is True:
            args.append(flag)
        elif value is not None:
            args += [flag, value]
    return args


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"cvr": "1234567"}, "--cvr: A CVR number is 8 digits."),
        ({"cvr": "1234567a"}, "--cvr: A CVR number is 8 digits."),
        ({"name": "   "}, "--name: An organisation needs a name."),
        ({"name": "x" * 201}, "--name: A name is at most 200 characters."),
        (
            {"legal_notification_allowed": True},
            "--kind: Only authorities may send legal notifications or mandatory post.",
        ),
        (
            {"mandatory_post_allowed": True},
            "--kind: Only authorities may send legal notifications or mandatory post.",
        ),
        (
            {"technical_contact_email": "not-an-address"},
            "--technical-contact-email: 'not-an-address' is not an e-mail address.",
        ),
    ],
)
def test_it_refuses_a_bad_argument_and_changes_nothing(db, changes, message):
    before = row_counts(*MODELS)

    with pytest.raises(CommandError) as refused:
        run(*_args(**changes))

    assert str(refused.value) == message
    assert row_counts(*MODELS) == before


def test_it_refuses_an_unknown_kind(db):
    with pytest.raises(CommandError, match=r"argument --kind: invalid choice: 'council'"):
        run(*_args(kind="council"))
    assert Organisation.objects.count() == 0


def test_it_refuses_a_missing_required_argument(db):
    with pytest.raises(CommandError, match=r"the following arguments are required: --kind"):
        run(*_args(kind=None))
    assert Organisation.objects.count() == 0


def test_it_refuses_a_cvr_that_is_already_registered(db):
    OrganisationFactory(cvr="12345678", name="The first one")
    before = row_counts(*MODELS)

    with pytest.raises(CommandError) as refused:
        run(*_args())

    assert str(refused.value) == "--cvr: An organisation with CVR 12345678 already exists."
    assert row_counts(*MODELS) == before
    assert Organisation.objects.get(cvr="12345678").name == "The first one"


def test_from_the_command_line_an_error_goes_to_stderr_with_a_non_zero_exit(db, capsys, monkeypatch):
    # run_from_argv closes every connection when it is done, which would end the test's transaction.
    monkeypatch.setattr("django.core.management.base.connections.close_all", lambda: None)
    command = load_command_class("rights", "create_organisation")

    with pytest.raises(SystemExit) as exited:
        command.run_from_argv(["manage.py", "create_organisation", "--skip-checks", *_args(cvr="123")])

    captured = capsys.readouterr()
    assert exited.value.code == 1
    assert captured.out == ""
    assert captured.err == "CommandError: --cvr: A CVR number is 8 digits.\n"
    assert Organisation.objects.count() == 0
