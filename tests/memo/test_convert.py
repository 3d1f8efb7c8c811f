"""memo.convert: a MeMo message as the other version, valid under both our and the official schemas."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import pytest
from lxml import etree

from memo import model, reader, validate, writer
from memo.convert import convert
from memo.model import ForwardData, Message, Representative
from tests.memo.conftest import sample_paths
from tests.memo.test_model_roundtrip import BUILDERS, VERSIONS

OFFICIAL_CORE = {
    model.MEMO_1_1: Path("xsd") / "MeMo_core.xsd",
    model.MEMO_1_2: Path("xsd") / "Version1.2" / "MeMo_core.xsd",
}
OTHER = {model.MEMO_1_1: model.MEMO_1_2, model.MEMO_1_2: model.MEMO_1_1}


@pytest.fixture(scope="module")
def official_schemas(memo_reference: Path) -> dict[str, etree.XMLSchema]:
    return {
        version: etree.XMLSchema(etree.parse(str(memo_reference / core)))
        for version, core in OFFICIAL_CORE.items()
    }


def problems(data: bytes) -> set[tuple[str, str, str]]:
    """What the project's validator says, by level, code and path."""
    return {(e.level, e.code, e.path) for e in validate(data).errors}


def official_errors(schema: etree.XMLSchema, data: bytes) -> list[str]:
    schema.validate(etree.fromstring(data))
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def with_representatives(message: Message) -> Message:
    """A 1.2 letter using both of 1.2's additions."""
    message.header.sender.representative = Representative(
        representative_id="12345678", id_type="CVR", id_type_label="CVR", label="Advokatfirmaet"
    )
    message.header.forward_data = ForwardData(
        message_uuid=UUID("2f1b0e6a-8a3c-4c55-9d2e-6b1f0a9c8d7e"),
        original_message_datetime=datetime(2025, 2, 1, 8, 0, tzinfo=UTC),
        original_sender="Kommunen",
        original_representative="Advokatfirmaet",
        comment="Videresendt",
    )
    return message


def letter_1_2() -> Message:
    return with_representatives(BUILDERS["minimal-letter"](model.MEMO_1_2))


def test_1_2_to_1_1_sets_the_schema_version_and_the_flags_and_drops_what_1_1_lacks():
    original = letter_1_2()
    original.header.mandatory = None
    original.header.legal_notification = True

    converted = convert(original, "1.1")

    assert (converted.memo_version, converted.memo_sch_version) == ("1.1", "1.1.0")
    assert (converted.header.mandatory, converted.header.legal_notification) == (False, True)
    assert converted.header.sender.representative is None
    assert converted.header.forward_data.original_representative is None
    # Everything else is as it was.
    expected = copy.deepcopy(original)
    expected.memo_version, expected.memo_sch_version = "1.1", "1.1.0"
    expected.header.mandatory = False
    expected.header.sender.representative = None
    expected.header.forward_data.original_representative = None
    assert converted == expected


def test_1_1_to_1_2_drops_the_schema_version_and_keeps_everything_else():
    original = BUILDERS["everything"](model.MEMO_1_1)

    converted = convert(original, "1.2")

    assert (converted.memo_version, converted.memo_sch_version) == ("1.2", None)
    assert converted.header == original.header
    assert converted.body == original.body


def test_the_same_version_gives_an_equal_message_that_is_a_new_object():
    original = letter_1_2()

    converted = convert(original, "1.2")

    assert converted == original
    assert converted is not original
    assert converted.header is not original.header


def test_the_input_is_never_changed():
    original = letter_1_2()
    original.header.mandatory = None
    before = copy.deepcopy(original)

    convert(original, "1.1")

    assert original == before


def test_1_1_to_1_2_and_back_gives_the_original():
    original = BUILDERS["everything"](model.MEMO_1_1)

    assert convert(convert(original, "1.2"), "1.1") == original


@pytest.mark.parametrize("version", ["1.0", "1.3", "", "1.20"])
def test_it_refuses_an_unknown_target_version(version):
    with pytest.raises(ValueError, match=r"MeMo version must be one of 1\.1, 1\.2"):
        convert(letter_1_2(), version)


def test_it_refuses_a_message_of_an_unknown_version():
    message = letter_1_2()
    message.memo_version = "2.0"

    with pytest.raises(ValueError, match=r"cannot convert from MeMo version '2\.0'"):
        convert(message, "1.1")


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("build", BUILDERS.values(), ids=BUILDERS.keys())
def test_messages_built_in_code_convert_valid_under_both_schemas(
    official_schemas: dict[str, etree.XMLSchema], build: Callable[[str], Message], version: str
):
    target = OTHER[version]
    original = build(version)

    data = writer.serialize(convert(original, target))

    # Some builders break a Digital Post rule on purpose (e.g. a JSON technical document);
    # converting must add nothing to what the original already breaks.
    assert problems(data) == problems(writer.serialize(original))
    assert not validate(data).schema_errors
    assert validate(data).version == target
    assert official_errors(official_schemas[target], data) == []


def test_a_letter_with_1_2_representatives_converts_valid_to_1_1(official_schemas):
    data = writer.serialize(convert(letter_1_2(), "1.1"))

    assert validate(data).errors == []
    assert official_errors(official_schemas["1.1"], data) == []
    assert b"Representative" not in data


def _sample_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@pytest.mark.parametrize("path", sample_paths(), ids=_sample_id)
@pytest.mark.parametrize("target", VERSIONS)
def test_every_official_sample_converts_valid_under_both_schemas(
    official_schemas: dict[str, etree.XMLSchema], path: Path, target: str
):
    original = path.read_bytes()
    message = reader.parse(original)

    data = writer.serialize(convert(message, target))

    # The samples predate the stricter 2025 rules (http:// links, placeholder CVRs);
    # converting must add nothing to what the sample already breaks.
    assert problems(data) == problems(original)
    assert not validate(data).schema_errors
    assert official_errors(official_schemas[target], data) == []
    assert reader.parse(data).header.message_uuid == message.header.message_uuid
