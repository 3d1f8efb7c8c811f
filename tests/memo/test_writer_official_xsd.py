"""What the writer produces is valid under the official MeMo schemas.

The official XSDs are reference data outside the repository (see ``conftest.py``); these
tests skip, with the reason shown, where it is absent.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from memo import model, reader, writer
from memo.model import Message
from tests.memo.conftest import sample_paths
from tests.memo.test_model_roundtrip import BUILDERS, VERSIONS

OFFICIAL_CORE = {
    model.MEMO_1_1: Path("xsd") / "MeMo_core.xsd",
    model.MEMO_1_2: Path("xsd") / "Version1.2" / "MeMo_core.xsd",
}


@pytest.fixture(scope="session")
def official_schemas(memo_reference: Path) -> dict[str, etree.XMLSchema]:
    return {
        version: etree.XMLSchema(etree.parse(str(memo_reference / core)))
        for version, core in OFFICIAL_CORE.items()
    }


def _errors(schema: etree.XMLSchema, data: bytes) -> list[str]:
    schema.validate(etree.fromstring(data))
    return [f"line {e.line}: {e.message}" for e in schema.error_log]


def _sample_id(path: Path) -> str:
    return f"{path.parent.name}/{path.name}"


@pytest.mark.parametrize("path", sample_paths(), ids=_sample_id)
def test_it_rewrites_every_official_sample_valid_under_its_official_schema(
    official_schemas: dict[str, etree.XMLSchema], path: Path
) -> None:
    original = path.read_bytes()
    message = reader.parse(original)
    schema = official_schemas[message.memo_version]
    # The sample itself must pass, or a failure below would say nothing about the writer.
    assert _errors(schema, original) == []

    assert _errors(schema, writer.serialize(message)) == []
    assert _errors(schema, writer.serialize(message, pretty=True)) == []


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("build", BUILDERS.values(), ids=BUILDERS.keys())
def test_it_writes_messages_built_in_code_valid_under_the_official_schema(
    official_schemas: dict[str, etree.XMLSchema],
    build: Callable[[str], Message],
    version: str,
) -> None:
    data = writer.serialize(build(version))

    assert _errors(official_schemas[version], data) == []


@pytest.mark.parametrize("build", BUILDERS.values(), ids=BUILDERS.keys())
def test_the_versions_really_differ_so_each_message_passes_only_its_own_schema(
    official_schemas: dict[str, etree.XMLSchema], build: Callable[[str], Message]
) -> None:
    # Guards the test above against validating everything with one lenient schema.
    as_11 = writer.serialize(build(model.MEMO_1_1))
    as_12 = writer.serialize(build(model.MEMO_1_2))

    assert _errors(official_schemas[model.MEMO_1_2], as_11) != []
    assert _errors(official_schemas[model.MEMO_1_1], as_12) != []


def test_a_1_1_message_without_its_flags_is_written_as_is_and_fails_the_1_1_schema(
    official_schemas: dict[str, etree.XMLSchema],
) -> None:
    # The writer writes the model faithfully; supplying 1.1's required flags is the caller's job.
    message = BUILDERS["minimal-letter"](model.MEMO_1_1)
    message.header.mandatory = None
    message.header.legal_notification = None

    errors = _errors(official_schemas[model.MEMO_1_1], writer.serialize(message))

    assert len(errors) == 1
    assert "mandatory" in errors[0]
