"""The rules beyond the XSD (memo.rules), on small inline messages.

The builders at the top write schema-valid messages (1.1 or 1.2) that differ from a good
message only where a test says so; test_validate and test_cli use them too.
"""

from __future__ import annotations

import base64
import binascii
import copy
import re
import string

import pytest
from lxml import etree

from memo import rules
from memo.errors import MemoError
from memo.rules import (
    ALLOWED_MIME_TYPES,
    FORBIDDEN_FILENAME_CHARS,
    MAX_ATTACHMENTS,
    MAX_CONTENT_BYTES,
    check_rules,
    element_path,
)
from memo.xmlsafe import MEMO_NS, parse_tree

GRD_NS = "https://data.gov.dk/model/core/"
NS = {"memo": MEMO_NS, "grd": GRD_NS}
UUID4 = "0f8fad5b-d9cb-469f-a165-70867728950e"
#: base64 of "This is a test" (14 bytes).
CONTENT = "VGhpcyBpcyBhIHRlc3Q="
_DEFAULT = object()


def x(text: str) -> str:
    """Escape text for an XML element; CR needs a character reference to survive parsing."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def file_xml(
    filename: str = "brev.pdf",
    fmt: str = "application/pdf",
    content: str = CONTENT,
    language: str = "da",
) -> str:
    return (
        f"<memo:File><memo:encodingFormat>{x(fmt)}</memo:encodingFormat>"
        f"<memo:filename>{x(filename)}</memo:filename><memo:language>{language}</memo:language>"
        f"<memo:content>{x(content)}</memo:content></memo:File>"
    )


def action_xml(url: str = "https://www.borger.dk/", code: str = "INFORMATION") -> str:
    return (
        f"<memo:Action><memo:label>Læs mere</memo:label><memo:actionCode>{code}</memo:actionCode>"
        f"<memo:EntryPoint><memo:url>{x(url)}</memo:url></memo:EntryPoint></memo:Action>"
    )


def reservation_xml() -> str:
    return (
        "<memo:Action><memo:label>Book tid</memo:label><memo:actionCode>AFTALE</memo:actionCode>"
        "<memo:Reservation><memo:description>Samtale</memo:description>"
        "<memo:reservationUUID>6f1c1f3e-2b1a-4c3d-9e8f-0a1b2c3d4e5f</memo:reservationUUID>"
        "<memo:abstract>Samtale</memo:abstract><memo:location>Rådhuset</memo:location>"
        "<memo:startDateTime>2025-10-01T08:00:00Z</memo:startDateTime>"
        "<memo:endDateTime>2025-10-01T09:00:00Z</memo:endDateTime>"
        "</memo:Reservation></memo:Action>"
    )


def document(kind: str = "MainDocument", files: tuple[str, ...] | None = None, actions=()) -> str:
    files = (file_xml(),) if files is None else files
    return f"<memo:{kind}>{''.join(files)}{''.join(actions)}</memo:{kind}>"


def body_xml(*documents: str) -> str:
    documents = documents or (document(),)
    return (
        "<memo:MessageBody><memo:createdDateTime>2025-09-15T10:00:00Z</memo:createdDateTime>"
        f"{''.join(documents)}</memo:MessageBody>"
    )


def message(
    *,
    version: str = "1.2",
    sch_version: object = _DEFAULT,
    message_type: str = "DIGITALPOST",
    uuid: str = UUID4,
    notification: str | None = None,
    sender_id: str = "12345678",
    sender_type: str = "CVR",
    sender_extra: str = "",
    recipient_id: str = "2211771212",
    recipient_type: str = "CPR",
    header_extra: str = "",
    body: str | None = _DEFAULT,  # type: ignore[assignment]
) -> bytes:
    """A message that is schema-valid and rule-valid unless an argument makes it otherwise."""
    if sch_version is _DEFAULT:
        sch_version = "1.1.0" if version == "1.1" else None
    if body is _DEFAULT:
        body = body_xml()
    attributes = f'memoVersion="{version}"'
    if sch_version is not None:
        attributes += f' memoSchVersion="{sch_version}"'
    flags = (
        "<memo:mandatory>false</memo:mandatory><memo:legalNotification>false</memo:legalNotification>"
        if version == "1.1"
        else ""
    )
    note = "" if notification is None else f"<memo:notification>{x(notification)}</memo:notification>"
    return (
        f'<memo:Message xmlns:memo="{MEMO_NS}" xmlns:grd="{GRD_NS}" {attributes}>'
        "<memo:MessageHeader>"
        f"<memo:messageType>{message_type}</memo:messageType>"
        f"<memo:messageUUID>{uuid}</memo:messageUUID>"
        f"<memo:label>Brev fra kommunen</memo:label>{note}{flags}"
        f"<memo:Sender><memo:senderID>{x(sender_id)}</memo:senderID>"
        f"<memo:idType>{sender_type}</memo:idType><memo:label>Kommunen</memo:label>"
        f"{sender_extra}</memo:Sender>"
        f"<memo:Recipient><memo:recipientID>{x(recipient_id)}</memo:recipientID>"
        f"<memo:idType>{recipient_type}</memo:idType></memo:Recipient>"
        f"{header_extra}</memo:MessageHeader>{body or ''}</memo:Message>"
    ).encode()


def check(data: bytes, **options: int) -> list[MemoError]:
    return check_rules(parse_tree(data), **options)


def found(data: bytes, **options: int) -> list[tuple[str, str]]:
    return [(e.code, e.path) for e in check(data, **options)]


FILE1 = "/Message/MessageBody/MainDocument/File"


# --- The baseline ---------------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.1", "1.2"])
def test_it_accepts_a_good_message(version):
    assert check(message(version=version)) == []


def test_every_error_is_at_the_rules_level():
    errors = check(message(sender_id="x", recipient_id="y"))
    assert {e.level for e in errors} == {"rules"}


def test_it_accepts_an_element_tree_as_well_as_its_root():
    tree = parse_tree(message(sender_id="x")).getroottree()
    assert [e.code for e in check_rules(tree)] == ["rules.cvr-invalid"]


# --- CPR and CVR ------------------------------------------------------------------------------


def test_it_refuses_a_cvr_sender_id_that_is_not_8_digits():
    assert check(message(sender_id="1234567")) == [
        MemoError(
            "rules",
            "/Message/MessageHeader/Sender/senderID",
            "rules.cvr-invalid",
            'A CVR number is exactly 8 digits; "1234567" is not.',
        )
    ]


def test_it_refuses_a_cpr_recipient_id_that_is_not_10_digits():
    assert check(message(recipient_id="221177-1212")) == [
        MemoError(
            "rules",
            "/Message/MessageHeader/Recipient/recipientID",
            "rules.cpr-invalid",
            'A CPR number is exactly 10 digits; "221177-1212" is not.',
        )
    ]


def test_it_checks_a_cpr_sender_and_a_cvr_recipient_by_their_id_type():
    data = message(sender_id="12345678", sender_type="CPR", recipient_id="2211771212", recipient_type="CVR")
    assert found(data) == [
        ("rules.cpr-invalid", "/Message/MessageHeader/Sender/senderID"),
        ("rules.cvr-invalid", "/Message/MessageHeader/Recipient/recipientID"),
    ]


@pytest.mark.parametrize(
    "value",
    [
        "",
        " 2211771212",
        "2211771212 ",
        "22117712120",
        "221177121",
        "221177121x",
        "２２１１７７１２１２",
        "٢٢١١٧٧١٢١٢",
    ],
    ids=[
        "empty",
        "leading-space",
        "trailing-space",
        "11-digits",
        "9-digits",
        "letter",
        "fullwidth-digits",
        "arabic-indic-digits",
    ],
)
def test_it_refuses_cpr_numbers_that_are_not_exactly_ten_ascii_digits(value):
    assert found(message(recipient_id=value)) == [
        ("rules.cpr-invalid", "/Message/MessageHeader/Recipient/recipientID")
    ]


@pytest.mark.parametrize("id_type", ["cpr", " CPR ", "Cpr"])
def test_it_reads_the_id_type_without_regard_to_case_or_surrounding_space(id_type):
    assert found(message(recipient_id="123", recipient_type=id_type)) == [
        ("rules.cpr-invalid", "/Message/MessageHeader/Recipient/recipientID")
    ]


@pytest.mark.parametrize("id_type", ["EAN", "P-nummer", ""])
def test_it_leaves_identifiers_of_other_types_alone(id_type):
    assert check(message(recipient_id="anything at all", recipient_type=id_type)) == []


def test_it_checks_a_representative_by_its_id_type():
    representative = (
        "<memo:Representative><memo:representativeID>8765432</memo:representativeID>"
        "<memo:idType>CVR</memo:idType></memo:Representative>"
    )
    assert found(message(sender_extra=representative)) == [
        ("rules.cvr-invalid", "/Message/MessageHeader/Sender/Representative/representativeID")
    ]


def test_it_skips_a_representative_without_id_type():
    representative = "<memo:Representative><memo:representativeID>x</memo:representativeID>"
    assert check(message(sender_extra=representative + "</memo:Representative>")) == []


def content_data(cpr: str = "2512169996", cvr: str = "12345678") -> str:
    return (
        "<memo:ContentData>"
        f"<grd:CPRdata><grd:cprNumber>{cpr}</grd:cprNumber><grd:name>Emilie</grd:name></grd:CPRdata>"
        f"<grd:CVRdata><grd:cvrNumber>{cvr}</grd:cvrNumber></grd:CVRdata>"
        "</memo:ContentData>"
    )


def test_it_accepts_good_content_data_numbers():
    assert check(message(header_extra=content_data())) == []


def test_it_refuses_bad_cpr_and_cvr_numbers_in_content_data():
    assert check(message(header_extra=content_data(cpr="251216999", cvr="DK12345678"))) == [
        MemoError(
            "rules",
            "/Message/MessageHeader/ContentData/CPRdata/cprNumber",
            "rules.cpr-invalid",
            'A CPR number is exactly 10 digits; "251216999" is not.',
        ),
        MemoError(
            "rules",
            "/Message/MessageHeader/ContentData/CVRdata/cvrNumber",
            "rules.cvr-invalid",
            'A CVR number is exactly 8 digits; "DK12345678" is not.',
        ),
    ]


def test_it_does_not_guess_what_reply_data_ids_are():
    reply = (
        f"<memo:ReplyData><memo:messageUUID>{UUID4}</memo:messageUUID>"
        "<memo:senderID>Sender ID</memo:senderID><memo:recipientID>1</memo:recipientID>"
        "</memo:ReplyData>"
    )
    assert check(message(header_extra=reply)) == []


def test_it_reads_an_id_split_by_a_comment_as_the_schema_does():
    data = message().replace(b"<memo:senderID>12345678", b"<memo:senderID>1234<!-- -->5678")
    assert check(data) == []


# --- messageUUID --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "uuid",
    [UUID4, UUID4.upper(), "8C2EA15D-61FB-4BA9-9366-42F8B194C114"],
    ids=["lower", "upper", "sample"],
)
def test_it_accepts_version_4_uuids_in_either_case(uuid):
    assert check(message(uuid=uuid)) == []


@pytest.mark.parametrize(
    ("uuid", "problem"),
    [
        ("0f8fad5b-d9cb-169f-a165-70867728950e", "is a version 1 UUID"),
        (
            "0f8fad5b-d9cb-469f-c165-70867728950e",
            "does not have the RFC 4122 variant (its 4th group must start with 8, 9, a or b)",
        ),
        ("0f8fad5bd9cb469fa16570867728950e", "is not a UUID in 8-4-4-4-12 hexadecimal form"),
        ("{0f8fad5b-d9cb-469f-a165-70867728950e}", "is not a UUID in 8-4-4-4-12 hexadecimal form"),
        ("0f8fad5b-d9cb-469f-a165-70867728950g", "is not a UUID in 8-4-4-4-12 hexadecimal form"),
        ("", "is not a UUID in 8-4-4-4-12 hexadecimal form"),
    ],
    ids=["version-1", "wrong-variant", "no-hyphens", "braces", "not-hex", "empty"],
)
def test_it_refuses_a_message_uuid_that_is_not_version_4(uuid, problem):
    assert check(message(uuid=uuid)) == [
        MemoError(
            "rules",
            "/Message/MessageHeader/messageUUID",
            "rules.message-uuid-invalid",
            f'messageUUID "{uuid}" {problem}; it must be a random (version 4) UUID.',
        )
    ]


# --- NemSMS -------------------------------------------------------------------------------------


def nemsms(notification: str | None = "Husk din tid i morgen kl. 10.", **kwargs) -> bytes:
    kwargs.setdefault("body", None)
    return message(message_type="NEMSMS", notification=notification, **kwargs)


def test_it_accepts_a_nemsms_with_a_notification_and_no_body():
    assert check(nemsms()) == []


def test_it_refuses_a_nemsms_with_a_body():
    assert check(nemsms(body=body_xml())) == [
        MemoError(
            "rules",
            "/Message/MessageBody",
            "rules.nemsms-body-forbidden",
            "A NEMSMS message must not have a MessageBody; an SMS carries no documents.",
        )
    ]


@pytest.mark.parametrize("notification", [None, "", "  \n "], ids=["absent", "empty", "blank"])
def test_it_refuses_a_nemsms_without_a_notification(notification):
    assert check(nemsms(notification)) == [
        MemoError(
            "rules",
            "/Message/MessageHeader/notification",
            "rules.nemsms-notification-missing",
            "A NEMSMS message needs a notification: it is the text of the SMS.",
        )
    ]


def test_it_accepts_a_nemsms_notification_of_exactly_150_characters():
    assert check(nemsms("æ" * 150)) == []


def test_it_refuses_a_nemsms_notification_of_151_characters():
    assert check(nemsms("a" * 151)) == [
        MemoError(
            "rules",
            "/Message/MessageHeader/notification",
            "rules.nemsms-notification-too-long",
            f'A NEMSMS notification may be at most 150 characters; this one has 151: "{"a" * 39}…".',
        )
    ]


def test_it_leaves_a_digital_post_notification_of_160_characters_to_the_schema():
    assert check(message(notification="a" * 160)) == []


def test_it_reports_every_nemsms_problem_at_once():
    assert found(nemsms(None, body=body_xml())) == [
        ("rules.nemsms-notification-missing", "/Message/MessageHeader/notification"),
        ("rules.nemsms-body-forbidden", "/Message/MessageBody"),
    ]


def test_nemsms_limit_is_150():
    assert rules.NEMSMS_MAX_CHARS == 150


# --- Filenames ----------------------------------------------------------------------------------


FORBIDDEN = sorted(FORBIDDEN_FILENAME_CHARS)


def test_the_forbidden_filename_characters_are_exactly_the_published_ones():
    expected = set('<>:"/\\|?*\r\n\u00a0\u2028\u205f\u2060\u3000')
    expected |= {chr(c) for c in range(0x2000, 0x200B)}
    assert expected == FORBIDDEN_FILENAME_CHARS
    assert len(FORBIDDEN_FILENAME_CHARS) == 27


@pytest.mark.parametrize("char", FORBIDDEN, ids=[f"U+{ord(c):04X}" for c in FORBIDDEN])
def test_it_refuses_each_forbidden_filename_character(char):
    data = message(body=body_xml(document(files=(file_xml(filename=f"brev{char}1.pdf"),))))
    assert found(data) == [("rules.filename-forbidden-character", f"{FILE1}/filename")]


@pytest.mark.parametrize(
    "filename",
    [
        "Pladsanvisning.pdf",
        "Praktiske oplysninger.doc",
        "Ærø & Åbenrå (2).pdf",
        "a.b.c.txt",
        "tab\there.txt",
        "emoji😀.png",
        "\u200bzero-width-space.pdf",
    ],
)
def test_it_accepts_filenames_without_forbidden_characters(filename):
    data = message(body=body_xml(document(files=(file_xml(filename=filename),))))
    assert check(data) == []


def test_it_names_the_forbidden_characters_it_found_once_each():
    name = "a:b:c\u00a0d\re?.pdf"
    data = message(body=body_xml(document(files=(file_xml(filename=name),))))
    assert check(data) == [
        MemoError(
            "rules",
            f"{FILE1}/filename",
            "rules.filename-forbidden-character",
            'The filename "a:b:c\\u00a0d\\u000de?.pdf" contains characters Digital Post '
            'forbids in filenames: CR, ":", "?", U+00A0 (no-break space).',
        )
    ]


def test_it_names_invisible_spaces_by_code_point():
    data = message(body=body_xml(document(files=(file_xml(filename="a\u2009b\u3000.pdf"),))))
    assert check(data)[0].message == (
        'The filename "a\\u2009b\\u3000.pdf" contains characters Digital Post forbids in '
        "filenames: U+2009 (thin space), U+3000 (ideographic space)."
    )


def test_it_checks_filenames_in_every_document_with_exact_positions():
    data = message(
        body=body_xml(
            document(),
            document("AdditionalDocument"),
            document("AdditionalDocument", files=(file_xml(), file_xml(filename="a|b.pdf"))),
            document("TechnicalDocument", files=(file_xml(filename="x>y.xml", fmt="text/xml"),)),
        )
    )
    assert found(data) == [
        (
            "rules.filename-forbidden-character",
            "/Message/MessageBody/AdditionalDocument[2]/File[2]/filename",
        ),
        (
            "rules.filename-forbidden-character",
            "/Message/MessageBody/TechnicalDocument/File/filename",
        ),
    ]


# --- Action URLs ----------------------------------------------------------------------------------


def with_action(*actions: str, kind: str = "MainDocument") -> bytes:
    return message(body=body_xml(document(kind, actions=actions)))


@pytest.mark.parametrize(
    "url",
    [
        "https://www.borger.dk/",
        "HTTPS://WWW.BORGER.DK",
        "https://www.tusindfryd.dk/spørgeskema.html",
        "https://example.dk:8443/a?b=c&d=e#f",
        " https://www.borger.dk/ ",
    ],
    ids=["plain", "upper-case", "non-ascii-path", "port-query-fragment", "surrounding-space"],
)
def test_it_accepts_absolute_https_action_urls(url):
    assert check(with_action(action_xml(url))) == []


@pytest.mark.parametrize(
    "url",
    [
        "http://www.borger.dk/",
        "ftp://files.example.dk/a.pdf",
        "//www.borger.dk/",
        "/selvbetjening",
        "www.borger.dk",
        "https://",
        "https:///path",
        "https:www.borger.dk",
        "javascript:alert(1)",
        "mailto:post@example.dk",
        "https://[::1",
        "",
    ],
    ids=[
        "http",
        "ftp",
        "scheme-relative",
        "path",
        "no-scheme",
        "no-host",
        "empty-host",
        "opaque",
        "javascript",
        "mailto",
        "bad-ipv6",
        "empty",
    ],
)
def test_it_refuses_action_urls_that_are_not_absolute_https(url):
    assert found(with_action(action_xml(url))) == [
        ("rules.url-not-https", "/Message/MessageBody/MainDocument/Action/EntryPoint/url")
    ]


def test_it_refuses_http_action_urls_naming_the_url():
    assert check(with_action(action_xml("http://www.tusindfryd.dk"))) == [
        MemoError(
            "rules",
            "/Message/MessageBody/MainDocument/Action/EntryPoint/url",
            "rules.url-not-https",
            'Action URLs must be absolute https:// URLs; "http://www.tusindfryd.dk" is not.',
        )
    ]


def test_it_checks_every_action_in_every_document_and_ignores_reservations():
    data = message(
        body=body_xml(
            document(actions=(reservation_xml(), action_xml("http://a.dk"))),
            document("AdditionalDocument", actions=(action_xml(), action_xml("http://b.dk"))),
        )
    )
    assert found(data) == [
        ("rules.url-not-https", "/Message/MessageBody/MainDocument/Action[2]/EntryPoint/url"),
        (
            "rules.url-not-https",
            "/Message/MessageBody/AdditionalDocument/Action[2]/EntryPoint/url",
        ),
    ]


# --- File content ------------------------------------------------------------------------------


def with_content(content: str) -> bytes:
    return message(body=body_xml(document(files=(file_xml(content=content),))))


@pytest.mark.parametrize(
    "content",
    [CONTENT, "", "QUJD", "VGhpcyBp\n  cyBhIHRl\r\n\tc3Q=\n", "\n" + "QUJD" * 19 + "\n"],
    ids=["plain", "empty", "no-padding-needed", "wrapped", "surrounded-by-newlines"],
)
def test_it_accepts_base64_content_with_white_space(content):
    assert check(with_content(content)) == []


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("VGhpcyBpcyBhIHRlc3Q", "its padding or length is wrong (19 base64 characters)"),
        ("VGhpcyBpcyBhIHRlc3Q==", "its padding or length is wrong (21 base64 characters)"),
        ("QQ==QQ==", "its padding or length is wrong (8 base64 characters)"),
        ("Q", "its padding or length is wrong (1 base64 characters)"),
        ("QU*D", 'it contains "*"'),
        ("QUJD-_==", 'it contains "-"'),
        ("QUJDæ", 'it contains "æ"'),
    ],
    ids=[
        "missing-padding",
        "extra-padding",
        "data-after-padding",
        "one-char",
        "star",
        "url-safe-alphabet",
        "non-ascii",
    ],
)
def test_it_refuses_content_that_is_not_strict_base64(content, problem):
    assert check(with_content(content)) == [
        MemoError(
            "rules",
            f"{FILE1}/content",
            "rules.content-not-base64",
            f'The content of file "brev.pdf" is not valid base64: {problem}.',
        )
    ]


# RFC 4648 base64 as XSD's base64Binary grammar has it: whole quanta, then at most one
# padded quantum. (Python's "strict" decoder is laxer: it takes "QUJD====".)
_RFC4648 = re.compile(r"(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?")


def _strict_size(text: str) -> int | None:
    flat = re.sub(r"[ \t\r\n]", "", text)
    if not _RFC4648.fullmatch(flat):
        return None
    return len(binascii.a2b_base64(flat))


BASE64_CASES = [
    "",
    "QQ==",
    "QUI=",
    "QUJD",
    "QUJDRA==",
    "Q",
    "QQ",
    "QQ=",
    "QQ===",
    "====",
    "=QQQ",
    "Q=QQ",
    "QQ=A",
    "QUJD\nRA==",
    "QU JD",
    "QQ\r\n==",
    "QQ=\n=",
    "QUJD!",
    "QUJD\x00",
    "QUJ\u00e6",
    "AB+/",
    "AB-_",
    "QUJD====",
    "QUJDRA=",
    " QUJD ",
    "\tQUJD\t",
    "QUJDR",
    "Q\u00a0UJD",
]


@pytest.mark.parametrize("text", BASE64_CASES)
def test_the_fast_base64_check_agrees_with_strict_decoding(text):
    assert rules.base64_decoded_size(text) == _strict_size(text)


def test_the_fast_base64_check_agrees_with_strict_decoding_on_random_damage():
    import random

    generator = random.Random(20261123)
    alphabet = string.ascii_letters + string.digits + "+/= \n\t\r-_!*"
    for _ in range(3000):
        good = base64.b64encode(generator.randbytes(generator.randint(0, 40))).decode()
        chars = list(good)
        for _ in range(generator.randint(0, 3)):
            if chars and generator.random() < 0.5:
                chars[generator.randrange(len(chars))] = generator.choice(alphabet)
            else:
                chars.insert(generator.randint(0, len(chars)), generator.choice(alphabet))
        text = "".join(chars)
        assert rules.base64_decoded_size(text) == _strict_size(text), repr(text)


# --- MIME types ---------------------------------------------------------------------------------


def with_format(fmt: str) -> bytes:
    return message(body=body_xml(document(files=(file_xml(fmt=fmt),))))


def test_the_allowed_mime_types_include_every_type_in_the_samples():
    assert {"application/pdf", "text/plain", "application/msword", "text/xml"} <= (ALLOWED_MIME_TYPES)


@pytest.mark.parametrize("fmt", sorted(ALLOWED_MIME_TYPES))
def test_it_accepts_each_allowed_mime_type(fmt):
    assert check(with_format(fmt)) == []


@pytest.mark.parametrize("fmt", ["Application/PDF", "text/plain; charset=UTF-8", " text/html "])
def test_it_compares_mime_types_without_case_or_parameters(fmt):
    assert check(with_format(fmt)) == []


@pytest.mark.parametrize(
    "fmt",
    [
        "application/x-msdownload",
        "application/zip",
        "application/octet-stream",
        "application/javascript",
        "image/svg+xml",
        "pdf",
        "",
    ],
)
def test_it_refuses_mime_types_not_on_the_list(fmt):
    assert check(with_format(fmt)) == [
        MemoError(
            "rules",
            f"{FILE1}/encodingFormat",
            "rules.mime-type-not-allowed",
            f'The encodingFormat "{fmt}" is not a file type Digital Post accepts.',
        )
    ]


# --- Sizes and counts ----------------------------------------------------------------------------


def test_the_limits_are_ten_attachments_and_99_5_decimal_megabytes():
    assert MAX_ATTACHMENTS == 10
    assert MAX_CONTENT_BYTES == 99_500_000


def attachments(additional: int, technical: int) -> bytes:
    docs = [document()]
    docs += [document("AdditionalDocument")] * additional
    docs += [document("TechnicalDocument", files=(file_xml(fmt="text/xml"),))] * technical
    return message(body=body_xml(*docs))


def test_it_accepts_ten_attachments():
    assert check(attachments(6, 4)) == []


def test_it_refuses_eleven_attachments_counting_both_kinds():
    assert check(attachments(6, 5)) == [
        MemoError(
            "rules",
            "/Message/MessageBody",
            "rules.too-many-attachments",
            "A message may carry at most 10 attachments (AdditionalDocument and "
            "TechnicalDocument); this one has 11.",
        )
    ]


def test_it_does_not_count_files_within_a_document_as_attachments():
    data = message(body=body_xml(document("MainDocument", files=(file_xml(),) * 12)))
    assert check(data) == []


def test_it_accepts_content_of_exactly_the_limit():
    data = message(body=body_xml(document(files=(file_xml(), file_xml()))))
    assert check(data, max_content_bytes=28) == []


def test_it_refuses_decoded_content_over_the_limit_across_all_documents():
    data = message(body=body_xml(document(), document("AdditionalDocument")))
    assert check(data, max_content_bytes=27) == [
        MemoError(
            "rules",
            "/Message/MessageBody",
            "rules.content-too-large",
            "The files in this message hold 28 bytes once decoded; the limit is 27 bytes.",
        )
    ]


def test_it_states_a_limit_of_a_megabyte_or_more_in_megabytes_too():
    content = base64.b64encode(bytes(1_000_001)).decode()
    data = message(body=body_xml(document(files=(file_xml(content=content),))))
    assert check(data, max_content_bytes=1_000_000)[0].message == (
        "The files in this message hold 1,000,001 bytes once decoded; the limit is 1,000,000 bytes (1 MB)."
    )


@pytest.mark.slow
def test_it_refuses_one_byte_over_99_5_megabytes_with_the_default_limit():
    # The largest message the hub takes: also proves the XML size cap leaves room for it.
    content = base64.encodebytes(bytes(MAX_CONTENT_BYTES + 1)).decode()  # wrapped at 76
    data = message(body=body_xml(document(files=(file_xml(content=content),))))
    assert check(data) == [
        MemoError(
            "rules",
            "/Message/MessageBody",
            "rules.content-too-large",
            "The files in this message hold 99,500,001 bytes once decoded; "
            "the limit is 99,500,000 bytes (99.5 MB).",
        )
    ]


# --- memoVersion and memoSchVersion ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "sch"),
    [("1.1", "1.1.0"), ("1.1", "1.1"), ("1.1", " 1.1.0 "), ("1.10", "1.1.0"), ("1.2", None)],
)
def test_it_accepts_consistent_versions(version, sch):
    assert check(message(version=version, sch_version=sch)) == []


def test_it_requires_memo_sch_version_for_1_1():
    assert check(message(version="1.1", sch_version=None)) == [
        MemoError(
            "rules",
            "/Message/@memoSchVersion",
            "rules.memo-sch-version-missing",
            "A MeMo 1.1 message must state memoSchVersion (1.1.0).",
        )
    ]


@pytest.mark.parametrize("sch", ["1.2.0", "1.0", "1.1.0-rc1", "", "11.0"])
def test_it_refuses_a_memo_sch_version_that_does_not_match_1_1(sch):
    assert check(message(version="1.1", sch_version=sch)) == [
        MemoError(
            "rules",
            "/Message/@memoSchVersion",
            "rules.memo-sch-version-mismatch",
            f'memoSchVersion "{sch}" does not match memoVersion 1.1; it must be 1.1.0 (or another 1.1.x).',
        )
    ]


def test_it_refuses_memo_sch_version_on_1_2():
    assert check(message(version="1.2", sch_version="1.1.0")) == [
        MemoError(
            "rules",
            "/Message/@memoSchVersion",
            "rules.memo-sch-version-forbidden",
            'A MeMo 1.2 message must not carry memoSchVersion (it has "1.1.0").',
        )
    ]


@pytest.mark.parametrize("version", ["2.0", "one", ""])
def test_it_leaves_unknown_or_unreadable_versions_to_the_schema(version):
    assert check(message(version=version, sch_version="x")) == []


def test_it_leaves_a_missing_memo_version_to_the_schema():
    data = message().replace(b'memoVersion="1.2"', b"")
    assert check(data) == []


# --- Many errors, paths --------------------------------------------------------------------------


def test_it_reports_every_error_of_a_message_in_document_order():
    data = message(
        version="1.2",
        sch_version="1.1.0",
        uuid="not-a-uuid",
        sender_id="Sender ID",
        recipient_id="Recipient ID",
        header_extra=content_data(cpr="1", cvr="2"),
        body=body_xml(
            document(
                files=(file_xml(filename="a/b.pdf", fmt="application/zip", content="!!"),),
                actions=(action_xml("http://x.dk"),),
            ),
            *[document("AdditionalDocument")] * 11,
        ),
    )
    assert found(data) == [
        ("rules.memo-sch-version-forbidden", "/Message/@memoSchVersion"),
        ("rules.message-uuid-invalid", "/Message/MessageHeader/messageUUID"),
        ("rules.cvr-invalid", "/Message/MessageHeader/Sender/senderID"),
        ("rules.cpr-invalid", "/Message/MessageHeader/Recipient/recipientID"),
        ("rules.cpr-invalid", "/Message/MessageHeader/ContentData/CPRdata/cprNumber"),
        ("rules.cvr-invalid", "/Message/MessageHeader/ContentData/CVRdata/cvrNumber"),
        ("rules.mime-type-not-allowed", f"{FILE1}/encodingFormat"),
        ("rules.filename-forbidden-character", f"{FILE1}/filename"),
        ("rules.content-not-base64", f"{FILE1}/content"),
        ("rules.url-not-https", "/Message/MessageBody/MainDocument/Action/EntryPoint/url"),
        ("rules.too-many-attachments", "/Message/MessageBody"),
    ]


def test_paths_number_an_element_only_among_siblings_of_its_name():
    root = parse_tree(
        message(
            body=body_xml(
                document(),
                document("AdditionalDocument"),
                document("AdditionalDocument", files=(file_xml(), file_xml())),
                document("TechnicalDocument"),
            )
        )
    )
    body = root.find("memo:MessageBody", NS)
    paths = [element_path(f) for f in body.iterfind("*/memo:File", NS)]
    assert paths == [
        "/Message/MessageBody/MainDocument/File",
        "/Message/MessageBody/AdditionalDocument[1]/File",
        "/Message/MessageBody/AdditionalDocument[2]/File[1]",
        "/Message/MessageBody/AdditionalDocument[2]/File[2]",
        "/Message/MessageBody/TechnicalDocument/File",
    ]


def test_paths_use_local_names_whatever_the_prefix():
    root = parse_tree(
        message(header_extra=content_data()).replace(b"memo:", b"m:").replace(b"xmlns:memo=", b"xmlns:m=")
    )
    number = root.find("memo:MessageHeader/memo:ContentData/grd:CPRdata/grd:cprNumber", NS)
    assert element_path(number) == "/Message/MessageHeader/ContentData/CPRdata/cprNumber"


def test_a_repeated_sender_in_a_broken_tree_gets_its_own_path():
    root = parse_tree(message(sender_id="1"))
    header = root.find("memo:MessageHeader", NS)
    sender = header.find("memo:Sender", NS)
    sender.addnext(copy.deepcopy(sender))
    # The rules read the first Sender, as the schema would have it; the path says which.
    assert [(e.code, e.path) for e in check_rules(root)] == [
        ("rules.cvr-invalid", "/Message/MessageHeader/Sender[1]/senderID")
    ]


# --- Robustness on broken trees ----------------------------------------------------------------------


RICH = message(
    version="1.1",
    message_type="NEMSMS",
    notification="Hej",
    sender_extra=(
        "<memo:Representative><memo:representativeID>1</memo:representativeID>"
        "<memo:idType>CVR</memo:idType></memo:Representative>"
    ),
    header_extra=content_data(cpr="1", cvr="2"),
    body=body_xml(
        document(
            files=(file_xml(filename="a:b", content="!"),),
            actions=(action_xml("http://a"), reservation_xml()),
        ),
        document("AdditionalDocument", actions=(action_xml(),)),
        document("TechnicalDocument"),
    ),
)


def _every_element(data: bytes) -> int:
    return sum(1 for _ in parse_tree(data).iter())


@pytest.mark.parametrize("index", range(1, _every_element(RICH)))
def test_it_survives_the_removal_of_any_element(index):
    root = parse_tree(RICH)
    victim = list(root.iter())[index]
    victim.getparent().remove(victim)
    assert all(isinstance(e, MemoError) for e in check_rules(root))


@pytest.mark.parametrize("index", range(_every_element(RICH)))
def test_it_survives_any_element_emptied_or_given_unexpected_children(index):
    for mutate in ("empty", "child", "attributes-only"):
        root = parse_tree(RICH)
        victim = list(root.iter())[index]
        if mutate == "empty":
            for child in list(victim):
                victim.remove(child)
            victim.text = None
        elif mutate == "child":
            etree.SubElement(victim, f"{{{MEMO_NS}}}unexpected").text = "x"
            victim.append(etree.Comment("comment"))
        else:
            victim.attrib.clear()
        assert all(isinstance(e, MemoError) for e in check_rules(root))


def skeleton(inner: str = "", attributes: str = "") -> bytes:
    return f'<Message xmlns="{MEMO_NS}"{attributes}>{inner}</Message>'.encode()


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (skeleton(), []),
        (
            skeleton(attributes=' memoVersion="1.1"'),
            [("rules.memo-sch-version-missing", "/Message/@memoSchVersion")],
        ),
        (skeleton("<MessageHeader/><MessageBody/>"), []),
        (
            skeleton("<MessageHeader><messageType>NEMSMS</messageType></MessageHeader>"),
            [("rules.nemsms-notification-missing", "/Message/MessageHeader/notification")],
        ),
        (
            skeleton(
                "<MessageBody><MainDocument><File/><Action><EntryPoint/></Action>"
                "</MainDocument></MessageBody>"
            ),
            [],
        ),
        (skeleton("<MessageBody><File><content>!</content></File></MessageBody>"), []),
        (skeleton("<Sender><senderID>x</senderID><idType>CVR</idType></Sender>"), []),
    ],
    ids=[
        "empty",
        "version-only",
        "empty-parts",
        "nemsms-type-only",
        "empty-file-and-action",
        "misplaced-file",
        "misplaced-sender",
    ],
)
def test_on_skeleton_trees_it_checks_what_is_there_and_skips_what_is_not(data, expected):
    assert found(data) == expected
