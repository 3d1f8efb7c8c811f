import json
import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from adminaccess.models import Event, System
from adminaccess.services import system_check_token
from tests.factories import CompanyFactory, OrganisationFactory, make_system, row_counts

MODELS = (System, Event)


def run(*args) -> dict:
    out = StringIO()
    call_command("create_system", *args, stdout=out)
    assert out.getvalue().count("\n") == 1, "prints exactly one line"
    return json.loads(out.getvalue())


@pytest.fixture
def organisation(db):
    return OrganisationFactory(cvr="29189838")


def test_it_creates_a_sender_system_and_prints_its_token_once(organisation):
    printed = run("--organisation", "29189838", "--kind", "sender", "--name", "Sagssystem")

    system = System.objects.get()
    token = printed.pop("apiToken")
    assert printed == {
        "systemId": str(system.system_id),
        "kind": "SENDER",
        "organisation": "29189838",
        "protocol": None,
        "default": False,
        "memoVersion": "1.2",
    }
    assert system.organisation == organisation
    assert system.name == "Sagssystem"
    assert system_check_token(system=system, token=token)
    assert system.token_prefix == token[:8]
    stored = [str(value) for value in System.objects.values_list().get()]
    assert not any(token in value for value in stored), "the token itself is never stored"
    assert Event.objects.get().tag == Event.Tag.SYSTEM_CREATED


def test_it_creates_a_default_push_recipient_system(organisation):
    printed = run(
        "--organisation", "29189838", "--kind", "recipient", "--protocol", "REST_PUSH",
        "--endpoint", "https://post.aarhus.example.dk/inbox", "--default", "--memo-version", "1.1",
        "--technical-contact-email", "it@aarhus.example.dk",
    )  # fmt: skip

    system = System.objects.get()
    assert printed == {
        "systemId": str(system.system_id),
        "apiToken": printed["apiToken"],
        "kind": "RECIPIENT",
        "organisation": "29189838",
        "protocol": "REST_PUSH",
        "default": True,
        "memoVersion": "1.1",
    }
    assert system_check_token(system=system, token=printed["apiToken"])
    assert system.endpoint == "https://post.aarhus.example.dk/inbox"
    assert system.is_default is True
    assert system.technical_contact_email == "it@aarhus.example.dk"


def test_a_recipient_system_pulls_unless_told_otherwise(organisation):
    printed = run("--organisation", "29189838", "--kind", "recipient")

    assert printed["protocol"] == "REST_PULL"
    assert System.objects.get().protocol == System.Protocol.REST_PULL


def test_the_name_defaults_to_kind_and_number(organisation):
    make_system(organisation, kind=System.Kind.SENDER)

    run("--organisation", "29189838", "--kind", "sender")
    run("--organisation", "29189838", "--kind", "recipient")

    assert set(System.objects.values_list("name", flat=True)) == {
        "Sender system",
        "Sender system 2",
        "Recipient system 1",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--organisation", "2918983"], "--organisation: A CVR number is 8 digits."),
        (["--organisation", "11111111"], "--organisation: No organisation has CVR 11111111."),
        (["--protocol", "REST_PULL"], "--kind: Protocol and default apply to recipient systems only."),
        (["--default"], "--kind: Protocol and default apply to recipient systems only."),
        (
            ["--endpoint", "https://example.dk/"],
            "--endpoint: Only recipient systems have an endpoint.",
        ),
        (["--name", "x" * 201], "--name: A name is at most 200 characters."),
        (
            ["--technical-contact-email", "it@"],
            "--technical-contact-email: 'it@' is not an e-mail address.",
        ),
    ],
)
def test_it_refuses_a_bad_sender_argument_and_changes_nothing(organisation, args, message):
    before = row_counts(*MODELS)

    with pytest.raises(CommandError) as refused:
        run("--organisation", "29189838", "--kind", "sender", *args)

    assert str(refused.value) == message
    assert row_counts(*MODELS) == before


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--protocol", "REST_PUSH"], "--endpoint: A push system needs an endpoint URL."),
        (
            ["--protocol", "REST_PUSH", "--endpoint", "ftp://example.dk/inbox"],
            "--endpoint: 'ftp://example.dk/inbox' is not an http(s) URL.",
        ),
        (
            ["--protocol", "REST_PUSH", "--endpoint", "not a url"],
            "--endpoint: 'not a url' is not an http(s) URL.",
        ),
        (
            ["--protocol", "REST_PUSH", "--endpoint", "https://example.dk/" + "x" * 500],
            "--endpoint: An endpoint URL is at most 500 characters.",
        ),
    ],
)
def test_it_refuses_a_bad_recipient_argument_and_changes_nothing(organisation, args, message):
    before = row_counts(*MODELS)

    with pytest.raises(CommandError) as refused:
        run("--organisation", "29189838", "--kind", "recipient", *args)

    assert str(refused.value) == message
    assert row_counts(*MODELS) == before


@pytest.mark.parametrize(
    ("args", "pattern"),
    [
        (["--kind", "printer"], r"argument --kind: invalid choice: 'printer'"),
        (["--kind", "recipient", "--protocol", "SOAP"], r"argument --protocol: invalid choice: 'SOAP'"),
        (["--kind", "sender", "--memo-version", "2.0"], r"argument --memo-version: invalid choice: '2.0'"),
        ([], r"the following arguments are required: --kind"),
    ],
)
def test_it_refuses_an_argument_outside_its_choices(organisation, args, pattern):
    with pytest.raises(CommandError, match=pattern):
        run("--organisation", "29189838", *args)
    assert System.objects.count() == 0


def test_a_new_default_takes_over_from_the_old_one(organisation):
    old, _ = make_system(organisation, kind=System.Kind.RECIPIENT, protocol="REST_PULL", is_default=True)

    printed = run("--organisation", "29189838", "--kind", "recipient", "--default")

    old.refresh_from_db()
    assert old.is_default is False
    assert System.objects.get(is_default=True).system_id == uuid.UUID(printed["systemId"])


def test_a_company_can_have_a_recipient_system(db):
    CompanyFactory(cvr="12345678")

    printed = run("--organisation", "12345678", "--kind", "recipient")

    assert printed["organisation"] == "12345678"
