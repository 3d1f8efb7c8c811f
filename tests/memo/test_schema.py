"""memo.schema: our own MeMo 1.1/1.2 XSDs and how their verdicts are reported.

The first part needs nothing but this repository: small inline messages, valid and broken
in known ways, with the exact path, code and wording expected. The second part holds our
schemas to the official samples and XSDs in ``../shared/memo`` and skips, saying so, where
that reference material is absent.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from lxml import etree

from memo import schema as schema_module
from memo.errors import MemoError
from memo.schema import SUPPORTED_VERSIONS, schema_path, validate_schema
from memo.xmlsafe import MEMO_NS, parse_tree
from tests.memo.conftest import REPO_ROOT, reference_dir, sample_paths

GLN_NS = "https://www.gs1.dk/gs1-standarder/identifikation/gln-global-location-number/"
SCHEMA_DIR = REPO_ROOT / "memo" / "schemas"

_TEMPLATE = """\
<memo:Message xmlns:memo="{memo}" xmlns:gln="{gln}" {attributes}>
  <memo:MessageHeader>
    <memo:messageType>DIGITALPOST</memo:messageType>
    <memo:messageUUID>0f8fad5b-d9cb-469f-a165-70867728950e</memo:messageUUID>
    <memo:label>Afgørelse om din ansøgning</memo:label>
    <memo:notification>Du har fået Digital Post fra kommunen.</memo:notification>
    <memo:reply>false</memo:reply>
    <memo:replyByDateTime>2025-10-01T12:00:00Z</memo:replyByDateTime>
    <memo:doNotDeliverUntilDate>2025-09-15</memo:doNotDeliverUntilDate>{flags}
    <memo:Sender>
      <memo:senderID>29189846</memo:senderID>
      <memo:idType>CVR</memo:idType>
      <memo:label>Aarhus Kommune</memo:label>
      <memo:AttentionData>
        <gln:GlobalLocationNumber>
          <gln:globalLocationNumber>5798000012345</gln:globalLocationNumber>
        </gln:GlobalLocationNumber>
      </memo:AttentionData>
    </memo:Sender>
    <memo:Recipient>
      <memo:recipientID>0101701234</memo:recipientID>
      <memo:idType>CPR</memo:idType>
    </memo:Recipient>
  </memo:MessageHeader>
  <memo:MessageBody>
    <memo:createdDateTime>2025-09-10T08:00:00Z</memo:createdDateTime>
    <memo:MainDocument>
      <memo:File>
        <memo:encodingFormat>application/pdf</memo:encodingFormat>
        <memo:filename>afgoerelse.pdf</memo:filename>
        <memo:language>da</memo:language>
        <memo:content>VGhpcyBpcyBhIHRlc3Q=</memo:content>
      </memo:File>
      <memo:File>
        <memo:encodingFormat>text/plain</memo:encodingFormat>
        <memo:filename>afgoerelse.txt</memo:filename>
        <memo:language>da</memo:language>
        <memo:content>VGhpcyBpcyBhIHRlc3Q=</memo:content>
      </memo:File>
    </memo:MainDocument>
  </memo:MessageBody>
</memo:Message>
"""


def message(version: str = "1.2") -> bytes:
    """A small message that is valid under ``version``."""
    if version == "1.1":
        attributes = 'memoVersion="1.1" memoSchVersion="1.1.0"'
        flags = (
            "\n    <memo:mandatory>false</memo:mandatory>"
            "\n    <memo:legalNotification>false</memo:legalNotification>"
        )
    else:
        attributes, flags = 'memoVersion="1.2"', ""
    text = _TEMPLATE.format(memo=MEMO_NS, gln=GLN_NS, attributes=attributes, flags=flags)
    return text.encode()


def edit(data: bytes, *pairs: tuple[str, str]) -> bytes:
    for old, new in pairs:
        assert old.encode() in data, old
        data = data.replace(old.encode(), new.encode(), 1)
    return data


def found(data: bytes, version: str | None = None) -> list[tuple[str, str]]:
    return [(e.path, e.code) for e in validate_schema(parse_tree(data), version=version)]


HEADER = "/Message/MessageHeader"


# ---------------------------------------------------------------------------------------------
# Valid messages


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_a_small_message_is_valid_under_its_own_version(version: str) -> None:
    assert validate_schema(parse_tree(message(version))) == []
    assert validate_schema(parse_tree(message(version)), version=version) == []


@pytest.mark.parametrize(
    ("version", "change"),
    [
        ("1.2", ("<memo:reply>false</memo:reply>", "<memo:reply/>")),
        ("1.1", ("<memo:mandatory>false</memo:mandatory>", "<memo:mandatory></memo:mandatory>")),
        ("1.2", ("<memo:reply>false</memo:reply>", "<memo:reply> 1 </memo:reply>")),
        ("1.2", ("Afgørelse om din ansøgning", "ø" * 256)),
        ("1.2", ('memoVersion="1.2"', 'memoVersion=" 1.2 "')),
        ("1.2", ("</memo:Sender>", "<memo:Representative/></memo:Sender>")),
        ("1.2", ("2025-09-15<", "2025-09-15+02:00<")),
        ("1.2", ("<memo:language>da</memo:language>", "<memo:language>d</memo:language>")),
        ("1.2", ("5798000012345", "-5")),
    ],
    ids=[
        "empty-boolean-takes-its-default",
        "empty-1.1-flag-takes-its-default",
        "boolean-as-digit-with-spaces",
        "label-of-256-characters",
        "version-with-white-space",
        "empty-representative-in-1.2",
        "date-with-time-zone",
        "one-letter-language",
        "negative-location-number",
    ],
)
def test_the_standard_accepts_these_less_obvious_forms(version: str, change: tuple[str, str]) -> None:
    assert found(edit(message(version), change)) == []


def test_a_message_in_the_default_namespace_is_valid() -> None:
    data = message().replace(b"memo:", b"").replace(b"xmlns:memo=", b"xmlns=")
    assert validate_schema(parse_tree(data)) == []


# ---------------------------------------------------------------------------------------------
# Broken messages: path and code of every error

BROKEN = [
    (
        "label-missing",
        "1.2",
        [("<memo:label>Afgørelse om din ansøgning</memo:label>", "")],
        [(f"{HEADER}/notification", "schema.unexpected-element")],
    ),
    (
        "recipient-missing",
        "1.2",
        [("<memo:Recipient>", "<!--"), ("</memo:Recipient>", "-->")],
        [(HEADER, "schema.missing-element")],
    ),
    (
        "label-too-long",
        "1.2",
        [("Afgørelse om din ansøgning", "x" * 257)],
        [(f"{HEADER}/label", "schema.too-long")],
    ),
    (
        "notification-of-161-characters",
        "1.2",
        [("Du har fået Digital Post fra kommunen.", "n" * 161)],
        [(f"{HEADER}/notification", "schema.too-long")],
    ),
    (
        "uuid-version-1",
        "1.2",
        [("0f8fad5b-d9cb-469f", "0f8fad5b-d9cb-169f")],
        [(f"{HEADER}/messageUUID", "schema.pattern-mismatch")],
    ),
    (
        "message-type-unknown",
        "1.2",
        [("DIGITALPOST", "EBOKS")],
        [(f"{HEADER}/messageType", "schema.not-in-enumeration")],
    ),
    (
        "date-that-does-not-exist",
        "1.2",
        [("2025-09-15", "2025-02-30")],
        [(f"{HEADER}/doNotDeliverUntilDate", "schema.invalid-datatype")],
    ),
    (
        "date-time-not-in-utc",
        "1.2",
        [("2025-10-01T12:00:00Z", "2025-10-01T14:00:00+02:00")],
        [(f"{HEADER}/replyByDateTime", "schema.pattern-mismatch")],
    ),
    (
        "boolean-spelled-out",
        "1.2",
        [("<memo:reply>false", "<memo:reply>no")],
        [(f"{HEADER}/reply", "schema.invalid-datatype")],
    ),
    (
        "location-number-of-14-digits",
        "1.2",
        [("5798000012345", "57980000123456")],
        [
            (
                f"{HEADER}/Sender/AttentionData/GlobalLocationNumber/globalLocationNumber",
                "schema.out-of-range",
            )
        ],
    ),
    (
        "language-of-three-letters-in-second-file",
        "1.2",
        [("txt</memo:filename>\n        <memo:language>da<", "txt</memo:filename><memo:language>dan<")],
        [("/Message/MessageBody/MainDocument/File[2]/language", "schema.too-long")],
    ),
    (
        "base64-of-wrong-length",
        "1.2",
        [("VGhpcyBpcyBhIHRlc3Q=", "VGhpcyBpcyBhIHRlc3Q")],
        [("/Message/MessageBody/MainDocument/File[1]/content", "schema.invalid-datatype")],
    ),
    (
        "text-between-elements",
        "1.2",
        [("<memo:Sender>", "<memo:Sender>Aarhus")],
        [(f"{HEADER}/Sender", "schema.unexpected-text")],
    ),
    (
        "element-inside-a-text-field",
        "1.2",
        [("Afgørelse om din ansøgning", "Afgørelse <memo:b>om</memo:b>")],
        [(f"{HEADER}/label", "schema.unexpected-element")],
    ),
    (
        "unknown-attribute-on-a-field",
        "1.2",
        [("<memo:label>", '<memo:label lang="da">')],
        [(f"{HEADER}/label/@lang", "schema.unexpected-attribute")],
    ),
    (
        "field-given-twice",
        "1.2",
        [("</memo:messageType>", "</memo:messageType><memo:messageType>NEMSMS</memo:messageType>")],
        [(f"{HEADER}/messageType[2]", "schema.unexpected-element")],
    ),
    (
        "field-without-namespace",
        "1.2",
        [("<memo:label>Afgørelse om din ansøgning</memo:label>", "<label>Afgørelse</label>")],
        [(f"{HEADER}/label", "schema.unexpected-element")],
    ),
    (
        "fields-out-of-order",
        "1.2",
        [
            ("<memo:reply>false</memo:reply>", ""),
            ("<memo:doNotDeliverUntilDate>", "<memo:reply>false</memo:reply><memo:doNotDeliverUntilDate>"),
        ],
        [(f"{HEADER}/reply", "schema.unexpected-element")],
    ),
    (
        "mem-sch-version-in-1.2",
        "1.2",
        [('memoVersion="1.2"', 'memoVersion="1.2" memoSchVersion="1.2.0"')],
        [("/Message/@memoSchVersion", "schema.unexpected-attribute")],
    ),
    (
        "mem-sch-version-missing-in-1.1",
        "1.1",
        [(' memoSchVersion="1.1.0"', "")],
        [("/Message", "schema.missing-attribute")],
    ),
    (
        "legal-notification-missing-in-1.1",
        "1.1",
        [("<memo:legalNotification>false</memo:legalNotification>", "")],
        [(f"{HEADER}/Sender", "schema.unexpected-element")],
    ),
    (
        "representative-in-1.1",
        "1.1",
        [("</memo:Sender>", "<memo:Representative/></memo:Sender>")],
        [(f"{HEADER}/Sender/Representative", "schema.unexpected-element")],
    ),
    (
        "version-not-a-number",
        "1.2",
        [('memoVersion="1.2"', 'memoVersion="v1.2"')],
        [("/Message/@memoVersion", "schema.invalid-datatype")],
    ),
    (
        "marked-nil",
        "1.2",
        [
            ("<memo:label>", '<memo:label xsi:nil="true">'),
            ("<memo:Message ", '<memo:Message xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '),
        ],
        [(f"{HEADER}/label", "schema.invalid-xsi")],
    ),
]


@pytest.mark.parametrize(
    ("version", "changes", "expected"),
    [case[1:] for case in BROKEN],
    ids=[case[0] for case in BROKEN],
)
def test_a_broken_message_gets_the_error_path_and_code(
    version: str, changes: list[tuple[str, str]], expected: list[tuple[str, str]]
) -> None:
    data = edit(message(version), *changes)
    assert found(data, version=version) == expected


def test_it_reports_every_error_it_finds_not_just_the_first() -> None:
    data = edit(
        message(),
        ("DIGITALPOST", "LETTER"),
        ("0f8fad5b-d9cb-469f", "0f8fad5b-d9cb-469"),
        ("29189846", "2" * 300),
        ("5798000012345", "GLN"),
        ("2025-09-10T08:00:00Z", "yesterday"),
        ("<memo:language>da</memo:language>", "<memo:language>dan</memo:language>"),
        ('memoVersion="1.2"', 'memoVersion="1.2" sender="me"'),
    )
    assert found(data) == [
        ("/Message/@sender", "schema.unexpected-attribute"),
        (f"{HEADER}/messageType", "schema.not-in-enumeration"),
        (f"{HEADER}/messageUUID", "schema.pattern-mismatch"),
        (f"{HEADER}/Sender/senderID", "schema.too-long"),
        (
            f"{HEADER}/Sender/AttentionData/GlobalLocationNumber/globalLocationNumber",
            "schema.invalid-datatype",
        ),
        ("/Message/MessageBody/createdDateTime", "schema.invalid-datatype"),
        ("/Message/MessageBody/MainDocument/File[1]/language", "schema.too-long"),
    ]


def test_it_reports_hundreds_of_errors_with_their_positions() -> None:
    files = "".join(
        f"<memo:File><memo:encodingFormat>text/plain</memo:encodingFormat>"
        f"<memo:filename>f{i}.txt</memo:filename><memo:language>xx{i}</memo:language>"
        f"<memo:content>YQ==</memo:content></memo:File>"
        for i in range(500)
    )
    start = message().index(b"<memo:File>")
    end = message().index(b"</memo:MainDocument>")
    data = message()[:start] + files.encode() + message()[end:]
    errors = validate_schema(parse_tree(data))
    assert len(errors) == 500
    assert errors[0].path == "/Message/MessageBody/MainDocument/File[1]/language"
    assert errors[-1].path == "/Message/MessageBody/MainDocument/File[500]/language"
    assert {e.code for e in errors} == {"schema.invalid-datatype"}


def test_a_default_namespace_message_gets_the_same_paths_as_a_prefixed_one() -> None:
    broken = edit(
        message(),
        ("<memo:language>da</memo:language>", "<memo:language>dan</memo:language>"),
        ("</memo:messageType>", "</memo:messageType><memo:messageType>NEMSMS</memo:messageType>"),
    )
    unprefixed = broken.replace(b"memo:", b"").replace(b"xmlns:memo=", b"xmlns=")
    other_prefix = broken.replace(b"memo:", b"m:").replace(b"xmlns:memo=", b"xmlns:m=")
    expected = [
        (f"{HEADER}/messageType[2]", "schema.unexpected-element"),
        ("/Message/MessageBody/MainDocument/File[1]/language", "schema.too-long"),
    ]
    assert found(broken) == expected
    assert found(unprefixed) == expected
    assert found(other_prefix) == expected


# ---------------------------------------------------------------------------------------------
# Wording


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        (
            [("Afgørelse om din ansøgning", "x" * 300)],
            MemoError(
                "schema",
                f"{HEADER}/label",
                "schema.too-long",
                "label is 300 characters long; at most 256 are allowed.",
            ),
        ),
        (
            [("DIGITALPOST", "EBOKS")],
            MemoError(
                "schema",
                f"{HEADER}/messageType",
                "schema.not-in-enumeration",
                "messageType must be one of DIGITALPOST, NEMSMS; 'EBOKS' is not.",
            ),
        ),
        (
            [("0f8fad5b-d9cb-469f", "0f8fad5b-d9cb-169f")],
            MemoError(
                "schema",
                f"{HEADER}/messageUUID",
                "schema.pattern-mismatch",
                "messageUUID must be a random (version 4) UUID such as "
                "8c2ea15d-61fb-4ba9-9366-42f8b194c114; "
                "'0f8fad5b-d9cb-169f-a165-70867728950e' is not.",
            ),
        ),
        (
            [("2025-10-01T12:00:00Z", "2025-10-01T12:00:00")],
            MemoError(
                "schema",
                f"{HEADER}/replyByDateTime",
                "schema.pattern-mismatch",
                "replyByDateTime must be a date and time in UTC ending in Z, such as "
                "2025-09-30T12:00:00Z; '2025-10-01T12:00:00' is not.",
            ),
        ),
        (
            [("<memo:reply>false", "<memo:reply>nej")],
            MemoError(
                "schema",
                f"{HEADER}/reply",
                "schema.invalid-datatype",
                "reply must be true or false (or 1 or 0); 'nej' is not.",
            ),
        ),
        (
            [("<memo:Recipient>", "<!--"), ("</memo:Recipient>", "-->")],
            MemoError(
                "schema",
                HEADER,
                "schema.missing-element",
                "MessageHeader is incomplete: Recipient is missing.",
            ),
        ),
        (
            [("<memo:label>Afgørelse om din ansøgning</memo:label>", "")],
            MemoError(
                "schema",
                f"{HEADER}/notification",
                "schema.unexpected-element",
                "notification is not allowed here; expected one of messageID, messageCode, label.",
            ),
        ),
        (
            [("<memo:label>Afgørelse om din ansøgning</memo:label>", "<label>x</label>")],
            MemoError(
                "schema",
                f"{HEADER}/label",
                "schema.unexpected-element",
                "label (in no namespace) is not allowed here; expected one of messageID, messageCode, label.",
            ),
        ),
        (
            [
                ("<gln:GlobalLocationNumber>", "<memo:GlobalLocationNumber>"),
                ("</gln:GlobalLocationNumber>", "</memo:GlobalLocationNumber>"),
            ],
            MemoError(
                "schema",
                f"{HEADER}/Sender/AttentionData/GlobalLocationNumber",
                "schema.unexpected-element",
                "GlobalLocationNumber is not allowed here; expected one of AttentionPerson, "
                "grd:ProductionUnit, gln:GlobalLocationNumber, EMail, grd:SEnumber, Telephone, "
                "grd:EID, ContentResponsible, GeneratingSystem, sor:SORdata, among others.",
            ),
        ),
        (
            [("5798000012345", "99999999999999")],
            MemoError(
                "schema",
                f"{HEADER}/Sender/AttentionData/GlobalLocationNumber/globalLocationNumber",
                "schema.out-of-range",
                "gln:globalLocationNumber is out of range: '99999999999999' is greater than the "
                "maximum 9999999999999.",
            ),
        ),
        (
            [("2025-09-15", "15.09.2025")],
            MemoError(
                "schema",
                f"{HEADER}/doNotDeliverUntilDate",
                "schema.invalid-datatype",
                "doNotDeliverUntilDate must be a date written YYYY-MM-DD; '15.09.2025' is not.",
            ),
        ),
        (
            [("<memo:Sender>", "<memo:Sender>x")],
            MemoError(
                "schema",
                f"{HEADER}/Sender",
                "schema.unexpected-text",
                "Sender may contain only elements, not text.",
            ),
        ),
        (
            [('memoVersion="1.2"', 'memoVersion="1.2" memoSchVersion="1.2.0"')],
            MemoError(
                "schema",
                "/Message/@memoSchVersion",
                "schema.unexpected-attribute",
                "Message may not have the attribute memoSchVersion.",
            ),
        ),
    ],
    ids=[
        "too-long",
        "enumeration",
        "uuid",
        "utc",
        "boolean",
        "missing",
        "unexpected",
        "wrong-namespace",
        "borrowed-element-in-memo-namespace",
        "out-of-range",
        "date",
        "text",
        "attribute",
    ],
)
def test_messages_are_plain_sentences_naming_the_element(
    changes: list[tuple[str, str]], expected: MemoError
) -> None:
    assert validate_schema(parse_tree(edit(message(), *changes))) == [expected]


def test_a_1_1_message_checked_as_1_2_names_the_attribute_1_2_dropped() -> None:
    errors = validate_schema(parse_tree(message("1.1")), version="1.2")
    assert errors == [
        MemoError(
            "schema",
            "/Message/@memoSchVersion",
            "schema.unexpected-attribute",
            "Message may not have the attribute memoSchVersion.",
        )
    ]


@pytest.mark.parametrize(
    ("field", "value", "code", "wording"),
    [
        (
            "VGhpcyBpcyBhIHRlc3Q=",
            "A" * 100_001,
            "schema.invalid-datatype",
            f"content must be base64-encoded data; '{'A' * 59}…' is not.",
        ),
        (
            "DIGITALPOST",
            "A" * 100_000,
            "schema.not-in-enumeration",
            f"messageType must be one of its allowed values; '{'A' * 59}…' is not.",
        ),
        (
            "0f8fad5b-d9cb-469f-a165-70867728950e",
            "A" * 100_000,
            "schema.pattern-mismatch",
            f"messageUUID must be in the form its type requires; '{'A' * 59}…' is not.",
        ),
        (
            "DIGITALPOST",
            "A" * 100,
            "schema.not-in-enumeration",
            f"messageType must be one of DIGITALPOST, NEMSMS; '{'A' * 59}…' is not.",
        ),
    ],
    ids=["base64", "enumeration-beyond-libxml2-message-limit", "pattern", "enumeration"],
)
def test_long_values_are_shortened_in_messages(field: str, value: str, code: str, wording: str) -> None:
    # libxml2 quotes the whole value (cutting its message off near 64,000 characters).
    (error,) = validate_schema(parse_tree(edit(message(), (field, value))))
    assert (error.code, error.message) == (code, wording)


# ---------------------------------------------------------------------------------------------
# Versions


def test_an_unknown_memo_version_is_a_single_error() -> None:
    data = edit(message(), ('memoVersion="1.2"', 'memoVersion="1.3"'))
    assert validate_schema(parse_tree(data)) == [
        MemoError(
            "schema",
            "/Message/@memoVersion",
            "schema.unknown-version",
            "MeMo version '1.3' is not supported; memoVersion must be 1.1 or 1.2.",
        )
    ]


def test_a_missing_memo_version_is_a_single_error() -> None:
    data = edit(message(), (' memoVersion="1.2"', ""))
    assert validate_schema(parse_tree(data)) == [
        MemoError(
            "schema",
            "/Message",
            "schema.unknown-version",
            "Message has no memoVersion attribute, so its MeMo version is unknown (expected 1.1 or 1.2).",
        )
    ]


def test_an_unknown_requested_version_is_a_single_error() -> None:
    assert validate_schema(parse_tree(message()), version="2.0") == [
        MemoError(
            "schema",
            "/Message",
            "schema.unknown-version",
            "There is no MeMo schema for version '2.0'; use 1.1 or 1.2.",
        )
    ]


def test_the_requested_version_overrides_the_declared_one() -> None:
    assert found(message("1.2"), version="1.1") == [
        ("/Message", "schema.missing-attribute"),
        (f"{HEADER}/Sender", "schema.unexpected-element"),
    ]


def test_it_takes_an_element_tree_as_well_as_its_root() -> None:
    tree = parse_tree(message()).getroottree()
    assert validate_schema(tree) == []


def test_a_root_the_schema_does_not_declare_is_reported() -> None:
    root = etree.fromstring(f'<memo:Letter xmlns:memo="{MEMO_NS}"/>'.encode())
    assert validate_schema(root, version="1.2") == [
        MemoError(
            "schema",
            "/Letter",
            "schema.unknown-root",
            "Letter is not a MeMo message element, so it cannot be the root of a message.",
        )
    ]


# ---------------------------------------------------------------------------------------------
# The schema files


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_schema_path_names_the_entry_file_of_each_version(version: str) -> None:
    path = schema_path(version)
    assert path == SCHEMA_DIR / f"memo-{version}" / "memo.xsd"
    assert path.is_file()
    assert etree.parse(str(path)).getroot().get("version") == version


def test_schema_path_refuses_an_unknown_version() -> None:
    with pytest.raises(ValueError, match=r"no MeMo schema for version '1\.3'"):
        schema_path("1.3")


def test_the_schema_files_only_refer_to_each_other_by_relative_path() -> None:
    files = sorted(SCHEMA_DIR.rglob("*.xsd"))
    assert [f.relative_to(SCHEMA_DIR).as_posix() for f in files] == [
        "common/datatypes.xsd",
        "common/dmv.xsd",
        "common/form.xsd",
        "common/gln.xsd",
        "common/grd.xsd",
        "common/kle.xsd",
        "common/memo-shared.xsd",
        "common/sor.xsd",
        "common/udd.xsd",
        "memo-1.1/memo.xsd",
        "memo-1.2/memo.xsd",
    ]
    for xsd in files:
        for location in etree.parse(str(xsd)).xpath(
            "//xs:import/@schemaLocation | //xs:include/@schemaLocation",
            namespaces={"xs": "http://www.w3.org/2001/XMLSchema"},
        ):
            assert "://" not in location, (xsd, location)
            target = (xsd.parent / location).resolve()
            assert target.is_file() and SCHEMA_DIR in target.parents, (xsd, location)


def test_our_schemas_use_their_own_type_names() -> None:
    official_names = ("memoTextType", "memoUuidType", "memoDateTimeType", "memoGLNType")
    for xsd in SCHEMA_DIR.rglob("*.xsd"):
        text = xsd.read_text()
        assert not any(name in text for name in official_names), xsd
        assert "XMLSpy" not in text, xsd


def test_each_thread_gets_its_own_validator_and_its_own_errors() -> None:
    good = parse_tree(message())
    bad = parse_tree(edit(message(), ("DIGITALPOST", "EBOKS")))
    validators: set[int] = set()
    lock = threading.Lock()

    def work(i: int) -> list[tuple[str, str]]:
        with lock:
            validators.add(id(schema_module._validator("1.2")))
        root = bad if i % 2 else good
        # lxml trees may be read from several threads; each worker checks its own copy.
        root = etree.fromstring(etree.tostring(root))
        return [(e.path, e.code) for e in validate_schema(root)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(400)))
    for i, result in enumerate(results):
        assert result == ([(f"{HEADER}/messageType", "schema.not-in-enumeration")] if i % 2 else [])
    assert len(validators) > 1


# ---------------------------------------------------------------------------------------------
# Against the official material in ../shared/memo


def _version_of(sample: Path) -> str:
    return "1.1" if "1.1" in sample.parent.name else "1.2"


def _sample_params() -> list[object]:
    paths = sample_paths()
    if not paths:
        return [
            pytest.param(
                None,
                marks=pytest.mark.skip(
                    reason=f"official MeMo reference material not found at {reference_dir()}"
                ),
                id="no-reference",
            )
        ]
    return [pytest.param(p, id=f"{p.parent.name}/{p.name}") for p in paths]


@pytest.fixture(scope="module")
def official(memo_reference: Path) -> dict[str, etree.XMLSchema]:
    xsd = memo_reference / "xsd"
    return {
        "1.1": etree.XMLSchema(etree.parse(str(xsd / "MeMo_core.xsd"))),
        "1.2": etree.XMLSchema(etree.parse(str(xsd / "Version1.2" / "MeMo_core.xsd"))),
    }


@pytest.mark.parametrize("sample", _sample_params())
def test_every_official_sample_is_valid_under_our_schema_for_its_version(
    sample: Path, memo_reference: Path
) -> None:
    root = parse_tree(sample.read_bytes())
    assert validate_schema(root) == []
    assert validate_schema(root, version=_version_of(sample)) == []


@pytest.mark.parametrize("sample", _sample_params())
def test_every_official_sample_gets_the_official_verdict_under_both_versions(
    sample: Path, official: dict[str, etree.XMLSchema]
) -> None:
    root = parse_tree(sample.read_bytes())
    for version in SUPPORTED_VERSIONS:
        ours = validate_schema(root, version=version) == []
        assert ours == official[version].validate(root)
        assert ours == (version == _version_of(sample))


def test_official_1_1_samples_fail_1_2_only_for_mem_sch_version(memo_reference: Path) -> None:
    for name in ("MeMo_Full_Example.xml", "MeMo_Minimum_Example.xml"):
        root = parse_tree((memo_reference / "samples" / "v1.1-official" / name).read_bytes())
        assert [(e.path, e.code) for e in validate_schema(root, version="1.2")] == [
            ("/Message/@memoSchVersion", "schema.unexpected-attribute")
        ]


def test_official_1_2_samples_fail_1_1_for_what_1_2_changed(memo_reference: Path) -> None:
    samples = memo_reference / "samples" / "v1.2"
    full = parse_tree((samples / "MeMo_Full_Example.xml").read_bytes())
    assert [(e.path, e.code) for e in validate_schema(full, version="1.1")] == [
        ("/Message", "schema.missing-attribute"),
        (f"{HEADER}/Sender/Representative", "schema.unexpected-element"),
        (f"{HEADER}/ForwardData/originalRepresentative", "schema.unexpected-element"),
    ]
    minimum = parse_tree((samples / "MeMo_Minimum_Example.xml").read_bytes())
    assert [(e.path, e.code) for e in validate_schema(minimum, version="1.1")] == [
        ("/Message", "schema.missing-attribute"),
        (f"{HEADER}/Sender", "schema.unexpected-element"),
    ]


@pytest.mark.parametrize("version", SUPPORTED_VERSIONS)
def test_the_inline_messages_here_are_valid_under_the_official_schema(
    version: str, official: dict[str, etree.XMLSchema]
) -> None:
    assert official[version].validate(parse_tree(message(version)))


def test_broken_inline_messages_are_invalid_under_the_official_schema_too(
    official: dict[str, etree.XMLSchema],
) -> None:
    for name, version, changes, _ in BROKEN:
        root = parse_tree(edit(message(version), *changes))
        assert not official[version].validate(root), name


def test_xsi_type_naming_an_official_type_is_the_one_known_difference(
    official: dict[str, etree.XMLSchema],
) -> None:
    # The official schema calls its text type dt:memoTextType; ours calls it dt:ShortText.
    # A document may name the type of an element in xsi:type, and then only the schema that
    # uses that name accepts it. Senders have no reason to write xsi:type in MeMo.
    data = edit(
        message(),
        (
            "<memo:label>",
            '<memo:label xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xmlns:dt="https://data.gov.dk/model/dataTypes/" xsi:type="dt:memoTextType">',
        ),
    )
    root = parse_tree(data)
    assert official["1.2"].validate(root)
    assert found(data) == [(f"{HEADER}/label/@type", "schema.invalid-xsi")]
    ours_named = data.replace(b"dt:memoTextType", b"dt:ShortText")
    assert found(ours_named) == []
    assert not official["1.2"].validate(parse_tree(ours_named))
