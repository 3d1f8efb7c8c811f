import json
import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from adminaccess.models import Event, System
from contactstructure.models import CITIZEN_MAX_BYTES, ContactGroup, ContactPoint
from tests.factories import CompanyFactory, OrganisationFactory, make_contact_point, make_system, row_counts

MODELS = (ContactPoint, ContactGroup, Event)


def run(*args) -> dict:
    out = StringIO()
    call_command("create_contact_point", *args, stdout=out)
    assert out.getvalue().count("\n") == 1, "prints exactly one line"
    return json.loads(out.getvalue())


@pytest.fixture
def authority(db):
    return OrganisationFactory(cvr="29189838")


@pytest.fixture
def recipient(authority):
    system, _ = make_system(authority, kind=System.Kind.RECIPIENT, protocol="REST_PULL")
    return system


def test_it_creates_a_contact_point_with_everything_and_prints_it(authority, recipient):
    printed = run(
        "--organisation", "29189838", "--id", "pladsanvisning", "--label", "Pladsanvisning",
        "--recipient-system", str(recipient.system_id), "--group", "Børn og unge",
        "--keywords", "børnehave, vuggestue,,sfo", "--kle", "28.03.00,28.03",
        "--info", "Plads i vuggestue og børnehave.",
        "--field1", "Barnets CPR-nummer", "--field1-required", "--field2", "Ønsket startdato",
        "--max-size-bytes", "5000000", "--max-attachments", "3",
    )  # fmt: skip

    point = ContactPoint.objects.get()
    group = ContactGroup.objects.get()
    assert printed == {
        "organisation": "29189838",
        "id": "pladsanvisning",
        "label": "Pladsanvisning",
        "recipientSystem": str(recipient.system_id),
        "deepLinkKey": str(point.deep_link_key),
        "group": "Børn og unge",
    }
    assert (group.organisation, group.parent, group.label) == (authority, None, "Børn og unge")
    assert point.organisation == authority
    assert point.group == group
    assert point.recipient_system == recipient
    assert point.keywords == ["børnehave", "vuggestue", "sfo"]
    assert point.kle_codes == ["28.03.00", "28.03"]
    assert point.info_text == "Plads i vuggestue og børnehave."
    assert (point.field1_label, point.field1_required) == ("Barnets CPR-nummer", True)
    assert (point.field2_label, point.field2_required) == ("Ønsket startdato", False)
    assert (point.max_size_bytes, point.max_attachments) == (5000000, 3)
    event = Event.objects.get(tag=Event.Tag.CONTACT_STRUCTURE_CHANGED)
    assert event.organisation == authority
    assert event.details == {"action": "contact_point_created", "contactPointId": "pladsanvisning"}


def test_a_bare_contact_point_gets_the_citizen_limits_and_no_group(authority):
    printed = run("--organisation", "29189838", "--id", "borgerservice", "--label", "Borgerservice")

    point = ContactPoint.objects.get()
    assert printed == {
        "organisation": "29189838",
        "id": "borgerservice",
        "label": "Borgerservice",
        "recipientSystem": None,
        "deepLinkKey": str(point.deep_link_key),
        "group": None,
    }
    assert (point.max_size_bytes, point.max_attachments) == (CITIZEN_MAX_BYTES, 10)
    assert (point.keywords, point.kle_codes, point.group) == ([], [], None)
    assert ContactGroup.objects.count() == 0


def test_a_second_point_joins_the_existing_top_level_group(authority):
    run("--organisation", "29189838", "--id", "pas", "--label", "Pas", "--group", "Borgerservice")
    run("--organisation", "29189838", "--id", "korekort", "--label", "Kørekort", "--group", "Borgerservice")

    group = ContactGroup.objects.get()
    assert set(group.contact_points.values_list("contact_point_id", flat=True)) == {"pas", "korekort"}


def test_the_same_id_may_be_used_by_another_authority(authority):
    make_contact_point(OrganisationFactory(), contact_point_id="borgerservice")

    printed = run("--organisation", "29189838", "--id", "borgerservice", "--label", "Borgerservice")

    assert printed["id"] == "borgerservice"
    assert ContactPoint.objects.filter(contact_point_id="borgerservice").count() == 2


BASE = ["--organisation", "29189838", "--id", "pas", "--label", "Pas"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--organisation", "2918983", "--id", "pas", "--label", "Pas"],
            "--organisation: A CVR number is 8 digits.",
        ),
        (
            ["--organisation", "11111111", "--id", "pas", "--label", "Pas"],
            "--organisation: No organisation has CVR 11111111.",
        ),
        (["--organisation", "29189838", "--id", " ", "--label", "Pas"], "--id: A contact point needs an id."),
        (
            ["--organisation", "29189838", "--id", "x" * 65, "--label", "Pas"],
            "--id: A contact point id is at most 64 characters.",
        ),
        (
            ["--organisation", "29189838", "--id", "pas", "--label", ""],
            "--label: A contact point needs a label.",
        ),
        (
            ["--organisation", "29189838", "--id", "pas", "--label", "x" * 201],
            "--label: A label is at most 200 characters.",
        ),
        ([*BASE, "--group", "x" * 201], "--group: A group label is at most 200 characters."),
        (
            [*BASE, "--recipient-system", "not-a-uuid"],
            "--recipient-system: 'not-a-uuid' is not a system id (a UUID).",
        ),
        (
            [*BASE, "--recipient-system", "00000000-0000-0000-0000-000000000001"],
            "--recipient-system: No system has id 00000000-0000-0000-0000-000000000001.",
        ),
        ([*BASE, "--kle", "05.04.00,5.4,pas"], "--kle: Not a KLE code (NN, NN.NN or NN.NN.NN): 5.4, pas."),
        ([*BASE, "--field1-required"], "--field1-required: A required field 1 needs a label."),
        ([*BASE, "--field2-required"], "--field2-required: A required field 2 needs a label."),
        ([*BASE, "--field1", "x" * 101], "--field1: The label of field 1 is at most 100 characters."),
        (
            [*BASE, "--max-size-bytes", "0"],
            f"--max-size-bytes: The size limit must be between 1 and {CITIZEN_MAX_BYTES} bytes (10 MB).",
        ),
        (
            [*BASE, "--max-size-bytes", str(CITIZEN_MAX_BYTES + 1)],
            f"--max-size-bytes: The size limit must be between 1 and {CITIZEN_MAX_BYTES} bytes (10 MB).",
        ),
        (
            [*BASE, "--max-attachments", "11"],
            "--max-attachments: The attachment limit must be between 0 and 10.",
        ),
        (
            [*BASE, "--max-attachments", "-1"],
            "--max-attachments: The attachment limit must be between 0 and 10.",
        ),
    ],
)
def test_it_refuses_a_bad_argument_and_changes_nothing(authority, args, message):
    before = row_counts(*MODELS)

    with pytest.raises(CommandError) as refused:
        run(*args)

    assert str(refused.value) == message
    assert row_counts(*MODELS) == before


def test_it_refuses_a_company(db):
    CompanyFactory(cvr="12345678")
    before = row_counts(*MODELS)

    with pytest.raises(CommandError) as refused:
        run("--organisation", "12345678", "--id", "pas", "--label", "Pas", "--group", "Salg")

    assert str(refused.value) == (
        "--organisation: Only authorities have contact points; this organisation is a company."
    )
    assert row_counts(*MODELS) == before


def test_it_refuses_an_id_the_authority_already_uses_without_making_the_group(authority):
    make_contact_point(authority, contact_point_id="pas")
    before = row_counts(*MODELS)

    with pytest.raises(CommandError) as refused:
        run(*BASE, "--group", "Borgerservice")

    assert str(refused.value) == "--id: Organisation 29189838 already has a contact point with id 'pas'."
    assert row_counts(*MODELS) == before


def test_it_refuses_a_sender_system_as_recipient(authority):
    sender, _ = make_system(authority, kind=System.Kind.SENDER)
    before = row_counts(*MODELS)

    with pytest.raises(CommandError) as refused:
        run(*BASE, "--recipient-system", str(sender.system_id))

    assert str(refused.value) == (
        "--recipient-system: This is a sender system; mail can only be routed to a recipient system."
    )
    assert row_counts(*MODELS) == before


def test_it_refuses_another_organisations_recipient_system(authority):
    other, _ = make_system(OrganisationFactory(), kind=System.Kind.RECIPIENT, protocol="REST_PULL")
    before = row_counts(*MODELS)

    with pytest.raises(CommandError) as refused:
        run(*BASE, "--recipient-system", str(other.system_id))

    assert str(refused.value) == "--recipient-system: The recipient system belongs to another organisation."
    assert row_counts(*MODELS) == before


def test_it_reports_every_problem_at_once(authority):
    with pytest.raises(CommandError) as refused:
        run(*BASE, "--kle", "x", "--max-attachments", "11")

    assert str(refused.value) == (
        "--kle: Not a KLE code (NN, NN.NN or NN.NN.NN): x. "
        "--max-attachments: The attachment limit must be between 0 and 10."
    )


def test_it_refuses_a_limit_that_is_not_a_number(authority):
    with pytest.raises(CommandError, match=r"argument --max-size-bytes: invalid int value: '10MB'"):
        run(*BASE, "--max-size-bytes", "10MB")
    assert ContactPoint.objects.count() == 0


def test_the_deep_link_key_is_a_fresh_uuid(authority):
    first = run(*BASE)
    second = run("--organisation", "29189838", "--id", "korekort", "--label", "Kørekort")

    assert uuid.UUID(first["deepLinkKey"]) != uuid.UUID(second["deepLinkKey"])
