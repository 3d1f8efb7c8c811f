"""memo.validation: the three levels, reported apart, and what runs when."""

from __future__ import annotations

import logging

import pytest

from memo import validation as validate_module
from memo.errors import MemoError
from memo.validation import ValidationReport, message_version, validate, validate_tree
from memo.xmlsafe import MEMO_NS, parse_tree
from tests.memo.test_rules import action_xml, body_xml, document, file_xml, message

CVR_ERROR = MemoError(
    "rules",
    "/Message/MessageHeader/Sender/senderID",
    "rules.cvr-invalid",
    'A CVR number is exactly 8 digits; "Sender ID" is not.',
)


def without_label(data: bytes) -> bytes:
    """Drop the required MessageHeader/label: a schema error the rules do not care about."""
    return data.replace(b"<memo:label>Brev fra kommunen</memo:label>", b"")


#: What memo.schema says about a message without its label.
NO_LABEL = MemoError(
    "schema",
    "/Message/MessageHeader/Sender",
    "schema.unexpected-element",
    "Sender is not allowed here; expected one of messageID, messageCode, label.",
)


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_a_good_message_is_ok_at_every_level(version):
    report = validate(message(version=version))
    assert report.xml_errors == []
    assert report.schema_errors == []
    assert report.rule_errors == []
    assert report.errors == []
    assert report.ok is True
    assert report.version == version
    assert report.root.tag == f"{{{MEMO_NS}}}Message"
    assert report.rules_checked is True


def test_a_nemsms_without_body_is_ok():
    data = message(message_type="NEMSMS", notification="Husk din tid", body=None)
    assert validate(data).errors == []


@pytest.mark.parametrize(
    ("data", "error"),
    [
        (b"", MemoError("xml", "/", "xml.empty", "The document is empty.")),
        (
            b"<a/>",
            MemoError(
                "xml",
                "/",
                "xml.not-memo",
                f"The root element must be Message in namespace {MEMO_NS}, not a.",
            ),
        ),
        (
            b"<!DOCTYPE x><x/>",
            MemoError(
                "xml",
                "/",
                "xml.doctype-forbidden",
                "DOCTYPE declarations are not allowed in MeMo (no DTDs or entities).",
            ),
        ),
    ],
    ids=["empty", "not-memo", "doctype"],
)
def test_unparseable_input_gives_one_xml_error_and_no_further_checks(data, error):
    report = validate(data)
    assert report == ValidationReport(xml_errors=[error])
    assert report.errors == [error]
    assert report.ok is False
    assert report.root is None
    assert report.version is None
    assert report.rules_checked is False


def test_a_truncated_document_is_an_xml_error():
    report = validate(message()[:-20])
    assert [e.code for e in report.xml_errors] == ["xml.truncated"]
    assert (report.schema_errors, report.rule_errors) == ([], [])


def test_malformed_xml_is_an_xml_error():
    report = validate(message().replace(b"</memo:label>", b"</memo:lable>", 1))
    assert [e.code for e in report.xml_errors] == ["xml.malformed"]
    assert (report.schema_errors, report.rule_errors) == ([], [])


def test_it_applies_the_size_limit_before_parsing():
    data = message()
    report = validate(data, max_bytes=100)
    assert report.xml_errors == [
        MemoError(
            "xml",
            "/",
            "xml.too-large",
            f"The document is {len(data)} bytes; the limit is 100 bytes.",
        )
    ]


def test_rule_errors_are_reported_apart_from_schema_errors():
    report = validate(message(sender_id="Sender ID"))
    assert report.schema_errors == []
    assert report.rule_errors == [CVR_ERROR]
    assert report.errors == [CVR_ERROR]
    assert report.ok is False


def test_schema_errors_are_reported_at_the_schema_level():
    report = validate(without_label(message()))
    assert report.schema_errors == [NO_LABEL]
    assert report.rule_errors == []
    assert report.errors == [NO_LABEL]
    assert report.ok is False


def test_rules_run_even_when_the_schema_fails_and_all_errors_are_reported():
    report = validate(without_label(message(sender_id="Sender ID")))
    assert report.schema_errors == [NO_LABEL]
    assert report.rule_errors == [CVR_ERROR]
    assert report.errors == [NO_LABEL, CVR_ERROR]


def test_rules_run_on_a_tree_the_schema_rejects_wholesale():
    data = f'<Message xmlns="{MEMO_NS}" memoVersion="1.1"><Junk/></Message>'.encode()
    report = validate(data)
    assert [(e.code, e.path) for e in report.schema_errors] == [
        ("schema.missing-attribute", "/Message"),
        ("schema.unexpected-element", "/Message/Junk"),
    ]
    assert [(e.code, e.path) for e in report.rule_errors] == [
        ("rules.memo-sch-version-missing", "/Message/@memoSchVersion")
    ]


def test_an_unsupported_version_is_a_schema_error_and_no_rule_error():
    report = validate(message(version="2.0"))
    assert [(e.code, e.path) for e in report.schema_errors] == [
        ("schema.unknown-version", "/Message/@memoVersion")
    ]
    assert report.rule_errors == []
    assert report.version == "2.0"


def test_schema_only_skips_the_rules_and_says_so():
    report = validate(message(sender_id="Sender ID"), schema_only=True)
    assert report.ok is True
    assert report.rule_errors == []
    assert report.rules_checked is False


def test_schema_only_still_reports_schema_errors():
    report = validate(without_label(message(sender_id="Sender ID")), schema_only=True)
    assert report.errors == [NO_LABEL]
    assert report.ok is False


def test_validate_tree_gives_the_same_report_as_validate():
    data = without_label(
        message(sender_id="Sender ID", body=body_xml(document(actions=(action_xml("http://a"),))))
    )
    root = parse_tree(data)
    assert validate_tree(root) == validate(data)
    assert validate_tree(root.getroottree()) == validate(data)
    assert validate_tree(root).root is root


def test_the_content_limit_can_be_lowered_for_citizen_senders():
    report = validate(message(), max_content_bytes=13)
    assert [e.code for e in report.rule_errors] == ["rules.content-too-large"]


def test_a_failing_rule_check_refuses_the_message_instead_of_raising(monkeypatch, caplog):
    def broken(root, **options):
        raise RuntimeError("bug")

    monkeypatch.setattr(validate_module, "check_rules", broken)
    with caplog.at_level(logging.ERROR, logger="memo.validation"):
        report = validate(message())
    assert report.rule_errors == [
        MemoError(
            "rules",
            "/Message",
            "rules.check-failed",
            "The rule check failed on this message; it cannot be accepted.",
        )
    ]
    assert report.ok is False
    assert "MeMo rule check failed" in caplog.text


@pytest.mark.parametrize(
    ("attribute", "expected"),
    [
        ('memoVersion="1.1"', "1.1"),
        ('memoVersion="1.2"', "1.2"),
        ('memoVersion="1.20"', "1.2"),
        ('memoVersion=" 1.1 "', "1.1"),
        ('memoVersion="2.0"', "2.0"),
        ('memoVersion="one"', "one"),
        ("", None),
    ],
)
def test_the_version_is_memo_version_normalised(attribute, expected):
    root = parse_tree(f'<Message xmlns="{MEMO_NS}" {attribute}/>'.encode())
    assert message_version(root) == expected
    assert validate_tree(root).version == expected


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (message(sender_id="Sender ID"), "rules.cvr-invalid"),
        (message(recipient_id="2211771212 "), "rules.cpr-invalid"),
        (
            message(
                header_extra="<memo:ContentData><grd:CPRdata><grd:cprNumber>1</grd:cprNumber>"
                "</grd:CPRdata></memo:ContentData>"
            ),
            "rules.cpr-invalid",
        ),
        (message(message_type="NEMSMS", notification="Hej"), "rules.nemsms-body-forbidden"),
        (message(message_type="NEMSMS", body=None), "rules.nemsms-notification-missing"),
        (
            message(message_type="NEMSMS", notification="a" * 151, body=None),
            "rules.nemsms-notification-too-long",
        ),
        (
            message(body=body_xml(document(files=(file_xml(filename="a:b.pdf"),)))),
            "rules.filename-forbidden-character",
        ),
        (
            message(body=body_xml(document(actions=(action_xml("http://www.borger.dk"),)))),
            "rules.url-not-https",
        ),
        (
            message(body=body_xml(document(files=(file_xml(fmt="application/zip"),)))),
            "rules.mime-type-not-allowed",
        ),
        (
            message(body=body_xml(document(), *[document("AdditionalDocument")] * 11)),
            "rules.too-many-attachments",
        ),
        (message(version="1.1", sch_version="1.2.0"), "rules.memo-sch-version-mismatch"),
    ],
    ids=lambda value: value if isinstance(value, str) else "",
)
def test_the_rules_catch_what_the_schema_lets_through(data, code):
    report = validate(data)
    assert report.schema_errors == []
    assert [e.code for e in report.rule_errors] == [code]
