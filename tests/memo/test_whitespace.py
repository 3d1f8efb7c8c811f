"""The safe parse drops the white space between elements (indentation), and nothing else: every
value reads as written, and no verdict of the XSD or the rules changes."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from memo import model, reader, validation, writer, xmlsafe
from tests.memo.conftest import sample_paths
from tests.memo.test_model_roundtrip import everything

KEEP_ALL = xmlsafe._parser(huge=False, blanks=True)


def _letter(label: str) -> bytes:
    message = everything(model.MEMO_1_2)
    message.header.label = "LABEL"
    return writer.serialize(message).replace(b">LABEL<", f">{label}<".encode())


def _verdict(report: validation.ValidationReport) -> list[tuple]:
    return [(e.level, e.path, e.code, e.message) for e in report.errors]


def test_indentation_does_not_reach_the_tree() -> None:
    data = writer.serialize(everything(model.MEMO_1_2))
    pretty = etree.tostring(etree.fromstring(data), pretty_print=True)
    assert b"\n  <" in pretty

    root = xmlsafe.parse_tree(pretty)

    for element in root.iter():
        if len(element):
            assert element.text is None and all(child.tail is None for child in element)
    assert reader.from_tree(root) == reader.from_tree(etree.fromstring(pretty, KEEP_ALL))


@pytest.mark.parametrize(
    ("label", "read"),
    [
        ("   ", "   "),  # white space alone is a value
        ("  Brev  ", "  Brev  "),
        ("  <!-- en kommentar -->Brev", "  Brev"),  # beside a comment: kept all the same
        ("Brev<!-- x -->  ", "Brev  "),
        ("  <?behandling x?>  ", "    "),
        ("<![CDATA[  ]]>", "  "),
    ],
)
def test_a_value_reads_as_written(label: str, read: str) -> None:
    assert reader.parse(_letter(label)).header.label == read


@pytest.mark.parametrize("path", sample_paths(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_the_verdict_on_every_sample_is_that_of_a_parse_keeping_all_white_space(path: Path) -> None:
    data = path.read_bytes()
    kept = etree.fromstring(data, KEEP_ALL)

    assert _verdict(validation.validate(data)) == _verdict(validation.validate_tree(kept))
    assert reader.parse(data) == reader.from_tree(kept)


@pytest.mark.parametrize("label", ["", "   ", "\n\t"])
def test_an_empty_or_blank_label_is_judged_as_before(label: str) -> None:
    data = _letter(label)
    kept = etree.fromstring(data, KEEP_ALL)

    assert _verdict(validation.validate(data)) == _verdict(validation.validate_tree(kept))
