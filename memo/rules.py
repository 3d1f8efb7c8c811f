"""The MeMo rules that the XSD cannot express.

:func:`check_rules` walks an lxml tree (as returned by :func:`memo.xmlsafe.parse_tree`) and
returns one :class:`~memo.errors.MemoError` of level ``rules`` per problem. It never stops at
the first problem, and it never assumes the tree is schema-valid: when an element a rule
needs is missing, that rule is skipped for it (the schema check reports the absence), so
callers can run the rules on any tree without guarding against exceptions.

Rule codes (stable; callers may branch on them):

``rules.cpr-invalid``
    A CPR number is not exactly 10 ASCII digits. Checked where the message itself says the
    value is a CPR number: ``Sender/senderID``, ``Recipient/recipientID`` and
    ``Sender/Representative/representativeID`` whose sibling ``idType`` is ``CPR``, and every
    ``grd:cprNumber`` (``ContentData/CPRdata``). Not checked: ``ReplyData/senderID`` and
    ``recipientID`` (no idType says what they are), ``AttentionPerson/personID``,
    ``ContactInfo/value`` and the like (free text that may or may not be a CPR number).
    No modulus-11 or birth-date check: CPR numbers issued since 2007 need not pass it.
``rules.cvr-invalid``
    A CVR number is not exactly 8 ASCII digits; the same places as above with idType ``CVR``,
    and every ``grd:cvrNumber`` (``ContentData/CVRdata``). SE numbers, P-numbers and EIDs are
    not CVR numbers and are left alone.
``rules.message-uuid-invalid``
    ``MessageHeader/messageUUID`` is not an RFC 4122 version 4 UUID in 8-4-4-4-12 form
    (hex digits of either case). UUIDs that refer to other messages (ForwardData, ReplyData)
    are the schema's business only: they were minted by other systems.
``rules.nemsms-body-forbidden``
    A ``NEMSMS`` message carries a MessageBody; an SMS has no documents.
``rules.nemsms-notification-missing``
    A ``NEMSMS`` message has no notification, or only white space: that text is the SMS.
``rules.nemsms-notification-too-long``
    A ``NEMSMS`` notification is over :data:`NEMSMS_MAX_CHARS` characters.
``rules.filename-forbidden-character``
    A ``File/filename`` holds a character Digital Post has refused since 2025-09-10
    (:data:`FORBIDDEN_FILENAME_CHARS`).
``rules.url-not-https``
    An action URL (``Action/EntryPoint/url``, the only URL MeMo actions carry; a Reservation
    has none) is not an absolute ``https://`` URL with a host. Refused since 2025-09-10.
``rules.content-not-base64``
    A ``File/content`` does not decode as strict base64 (white space is allowed between the
    characters, as XML line-wrapping needs).
``rules.mime-type-not-allowed``
    A ``File/encodingFormat`` is not in :data:`ALLOWED_MIME_TYPES`.
``rules.too-many-attachments``
    More than :data:`MAX_ATTACHMENTS` AdditionalDocument + TechnicalDocument elements.
``rules.content-too-large``
    The decoded file content of the whole message exceeds :data:`MAX_CONTENT_BYTES`.
``rules.memo-sch-version-missing``
    ``memoVersion="1.1"`` without the ``memoSchVersion`` attribute.
``rules.memo-sch-version-mismatch``
    ``memoVersion="1.1"`` with a ``memoSchVersion`` that is not ``1.1`` or ``1.1.x``.
``rules.memo-sch-version-forbidden``
    ``memoVersion="1.2"`` with a ``memoSchVersion`` attribute (1.2 dropped it).

Paths are the element's location without namespace prefixes, with a 1-based ``[n]`` where
an element has siblings of the same name (``AdditionalDocument[2]/File``), as in
:mod:`memo.schema`. A missing item is reported at the path where it belongs; attributes
appear as ``@name``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from urllib.parse import urlsplit

from lxml import etree

from memo.errors import MemoError
from memo.xmlsafe import MEMO_NS

GRD_NS = "https://data.gov.dk/model/core/"

#: The SMS text of a NEMSMS message. The XSD allows 160 for notifications in general (one
#: published variant says 150); a NemSMS is held to 150.
NEMSMS_MAX_CHARS = 150

#: Attachments are the documents besides the main one: AdditionalDocument and
#: TechnicalDocument elements (not File elements: one document may hold several formats of
#: the same content).
MAX_ATTACHMENTS = 10

#: 99.5 MB of decoded file content per message, the Digital Post limit for an authority's
#: message. Read as decimal megabytes (10**6 bytes): the rules do not say which MB they mean,
#: and the decimal reading is the smaller of the two (the binary one would be 104,333,312
#: bytes), so anything accepted here is accepted under either reading. A hub that takes
#: messages from citizens or companies (limit 10 MB) passes ``max_content_bytes``.
MAX_CONTENT_BYTES = 99_500_000

#: Characters refused in filenames since 2025-09-10: the ones Windows forbids in names, line
#: breaks, and the invisible or look-alike spaces that make a name read as something else.
FORBIDDEN_FILENAME_CHARS = frozenset(
    '<>:"/\\|?*'
    "\r\n"
    "\u00a0"  # no-break space
    + "".join(chr(c) for c in range(0x2000, 0x200B))  # en quad .. hair space
    + "\u2028"  # line separator
    "\u205f"  # medium mathematical space
    "\u2060"  # word joiner
    "\u3000"  # ideographic space
)

#: MIME types accepted in ``File/encodingFormat``, compared without parameters and ignoring
#: case (``text/plain; charset=UTF-8`` is ``text/plain``). The list is ours: the formats
#: Digital Post shows or lets the recipient download, and nothing executable or archive-like
#: (zip files and macro-enabled Office formats can carry what a mailbox must not deliver).
ALLOWED_MIME_TYPES = frozenset(
    {
        # PDF (including PDF/A, which shares the type): the normal letter format.
        "application/pdf",
        # Plain text; used by the samples for MainDocument alternatives.
        "text/plain",
        # HTML letters, which Digital Post renders inline under its HTML principles.
        "text/html",
        # XHTML, the XML serialisation of the same.
        "application/xhtml+xml",
        # Images that every viewing client can show.
        "image/jpeg",
        "image/png",
        "image/gif",
        # TIFF: scanned letters.
        "image/tiff",
        # Word: .doc (used in the Full sample) and .docx.
        "application/msword",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        # Excel: .xls and .xlsx.
        "application/vnd.ms-excel",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        # OpenDocument text and spreadsheet (.odt, .ods).
        "application/vnd.oasis.opendocument.text",
        "application/vnd.oasis.opendocument.spreadsheet",
        # RTF, which has two types in use: the registered one and the older text/ one.
        "application/rtf",
        "text/rtf",
        # XML, e.g. TechnicalDocument payloads for machines (the samples use text/xml).
        "text/xml",
        "application/xml",
        # CSV, for tabular data meant for the recipient's spreadsheet.
        "text/csv",
        # iCalendar (.ics): appointments the recipient can add to a calendar.
        "text/calendar",
    }
)


def _m(name: str) -> str:
    return f"{{{MEMO_NS}}}{name}"


_HEADER = _m("MessageHeader")
_BODY = _m("MessageBody")
_MESSAGE_TYPE = _m("messageType")
_MESSAGE_UUID = _m("messageUUID")
_NOTIFICATION = _m("notification")
_SENDER = _m("Sender")
_RECIPIENT = _m("Recipient")
_REPRESENTATIVE = _m("Representative")
_ID_TYPE = _m("idType")
_DOCUMENTS = (_m("MainDocument"), _m("AdditionalDocument"), _m("TechnicalDocument"))
_ATTACHMENTS = (_m("AdditionalDocument"), _m("TechnicalDocument"))
_FILE = _m("File")
_ENCODING_FORMAT = _m("encodingFormat")
_FILENAME = _m("filename")
_CONTENT = _m("content")
_ACTION = _m("Action")
_ENTRY_POINT = _m("EntryPoint")
_URL = _m("url")
_CPR_NUMBER = f"{{{GRD_NS}}}cprNumber"
_CVR_NUMBER = f"{{{GRD_NS}}}cvrNumber"

# [0-9], not \d: \d also matches Arabic-Indic and other Unicode digits.
_CPR = re.compile(r"[0-9]{10}")
_CVR = re.compile(r"[0-9]{8}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_SCH_VERSION_11 = re.compile(r"1\.1(\.[0-9]+)?")
_FORBIDDEN_IN_FILENAME = re.compile(f"[{re.escape(''.join(sorted(FORBIDDEN_FILENAME_CHARS)))}]")
_XML_WHITESPACE = ("\n", " ", "\t", "\r")
_NOT_BASE64 = re.compile(r"[^A-Za-z0-9+/=]")
_WITHOUT_XML_SPACE = str.maketrans("", "", " \t\r\n")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_V11 = Decimal("1.1")
_V12 = Decimal("1.2")

_CHAR_NAMES = {"\r": "CR", "\n": "LF", "\t": "TAB"}


def check_rules(
    root: etree._Element,
    *,
    max_content_bytes: int = MAX_CONTENT_BYTES,
    max_attachments: int = MAX_ATTACHMENTS,
    verified_sizes: Mapping[etree._Element, int] | None = None,
) -> list[MemoError]:
    """Return every rule violation in the message (broadly in document order); ``[]`` if none.

    ``verified_sizes`` maps ``File/content`` elements whose base64 the caller has already
    checked (with :func:`base64_decoded_size`) to their decoded size, so large contents are
    not scanned twice.
    """
    if isinstance(root, etree._ElementTree):
        root = root.getroot()
    errors: list[MemoError] = []
    _check_versions(root, errors)
    header = _child(root, _HEADER)
    nemsms = False
    if header is not None:
        _check_message_uuid(header, errors)
        nemsms = _text(_child(header, _MESSAGE_TYPE)) == "NEMSMS"
        if nemsms:
            _check_nemsms_notification(header, errors)
        sender = _child(header, _SENDER)
        if sender is not None:
            _check_party_id(sender, "senderID", errors)
            representative = _child(sender, _REPRESENTATIVE)
            if representative is not None:
                _check_party_id(representative, "representativeID", errors)
        recipient = _child(header, _RECIPIENT)
        if recipient is not None:
            _check_party_id(recipient, "recipientID", errors)
        for number in header.iter(_CPR_NUMBER, _CVR_NUMBER):
            _check_number(number, "CPR" if number.tag == _CPR_NUMBER else "CVR", errors)
    body = _child(root, _BODY)
    if body is not None:
        if nemsms:
            errors.append(
                _error(
                    element_path(body),
                    "rules.nemsms-body-forbidden",
                    "A NEMSMS message must not have a MessageBody; an SMS carries no documents.",
                )
            )
        _check_body(body, errors, max_content_bytes, max_attachments, verified_sizes or {})
    return errors


def element_path(element: etree._Element) -> str:
    """The location of ``element``, e.g. ``/Message/MessageBody/AdditionalDocument[2]/File``.

    An element gets a 1-based ``[n]`` only when its parent has several children of its name,
    the convention :mod:`memo.schema` and :mod:`memo.reader` follow too.
    """
    steps: list[str] = []
    node: etree._Element | None = element
    while node is not None:
        name = etree.QName(node).localname
        parent = node.getparent()
        if parent is not None:
            same = list(parent.iterchildren(node.tag))
            if len(same) > 1:
                name = f"{name}[{same.index(node) + 1}]"
        steps.append(name)
        node = parent
    return "/" + "/".join(reversed(steps))


def _child(element: etree._Element, tag: str) -> etree._Element | None:
    """The first child with this tag. (Element.find parses a path each call; this is 2x faster.)"""
    return next(element.iterchildren(tag), None)


def _error(path: str, code: str, message: str) -> MemoError:
    return MemoError(level="rules", path=path, code=code, message=message)


def _text(element: etree._Element | None) -> str | None:
    """The string value the schema sees: text without comments; None if the element is absent."""
    if element is None:
        return None
    if len(element) == 0:
        return element.text or ""
    return "".join(element.itertext())


def _show(value: str, limit: int = 80) -> str:
    """Quote a value for a one-line message, spelling out characters one cannot see."""
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    shown = []
    for char in value:
        if char in '"\\':
            shown.append("\\" + char)
        elif char.isprintable():  # False for line breaks, tabs and the odd Unicode spaces
            shown.append(char)
        elif ord(char) > 0xFFFF:
            shown.append(f"\\U{ord(char):08x}")
        else:
            shown.append(f"\\u{ord(char):04x}")
    return '"' + "".join(shown) + '"'


def _describe_char(char: str) -> str:
    if char in _CHAR_NAMES:
        return _CHAR_NAMES[char]
    if char.isprintable() and char != " ":
        return f'"{char}"'
    name = unicodedata.name(char, "").lower()
    return f"U+{ord(char):04X} ({name})" if name else f"U+{ord(char):04X}"


def _check_versions(root: etree._Element, errors: list[MemoError]) -> None:
    raw = root.get("memoVersion")
    if raw is None:
        return
    try:
        version = Decimal(raw.strip())
    except InvalidOperation:
        return  # not a decimal: the schema says so
    sch = root.get("memoSchVersion")
    path = element_path(root) + "/@memoSchVersion"
    if version == _V11:
        if sch is None:
            errors.append(
                _error(
                    path,
                    "rules.memo-sch-version-missing",
                    "A MeMo 1.1 message must state memoSchVersion (1.1.0).",
                )
            )
        elif not _SCH_VERSION_11.fullmatch(sch.strip()):
            errors.append(
                _error(
                    path,
                    "rules.memo-sch-version-mismatch",
                    f"memoSchVersion {_show(sch)} does not match memoVersion 1.1; "
                    "it must be 1.1.0 (or another 1.1.x).",
                )
            )
    elif version == _V12 and sch is not None:
        errors.append(
            _error(
                path,
                "rules.memo-sch-version-forbidden",
                f"A MeMo 1.2 message must not carry memoSchVersion (it has {_show(sch)}).",
            )
        )


def _check_message_uuid(header: etree._Element, errors: list[MemoError]) -> None:
    element = _child(header, _MESSAGE_UUID)
    value = _text(element)
    if value is None:
        return
    if not _UUID.fullmatch(value):
        problem = "is not a UUID in 8-4-4-4-12 hexadecimal form"
    elif value[14] != "4":
        problem = f"is a version {value[14]} UUID"
    elif value[19] not in "89abAB":
        problem = "does not have the RFC 4122 variant (its 4th group must start with 8, 9, a or b)"
    else:
        return
    errors.append(
        _error(
            element_path(element),
            "rules.message-uuid-invalid",
            f"messageUUID {_show(value)} {problem}; it must be a random (version 4) UUID.",
        )
    )


def _check_party_id(party: etree._Element, id_name: str, errors: list[MemoError]) -> None:
    id_type = _text(_child(party, _ID_TYPE))
    if id_type is None:
        return
    kind = id_type.strip().upper()
    if kind not in ("CPR", "CVR"):
        return  # other identifier types have no format MeMo states
    element = _child(party, _m(id_name))
    if element is not None:
        _check_number(element, kind, errors)


def _check_number(element: etree._Element, kind: str, errors: list[MemoError]) -> None:
    value = _text(element) or ""
    if kind == "CPR":
        if not _CPR.fullmatch(value):
            errors.append(
                _error(
                    element_path(element),
                    "rules.cpr-invalid",
                    f"A CPR number is exactly 10 digits; {_show(value)} is not.",
                )
            )
    elif not _CVR.fullmatch(value):
        errors.append(
            _error(
                element_path(element),
                "rules.cvr-invalid",
                f"A CVR number is exactly 8 digits; {_show(value)} is not.",
            )
        )


def _check_nemsms_notification(header: etree._Element, errors: list[MemoError]) -> None:
    notification = _child(header, _NOTIFICATION)
    text = _text(notification)
    if text is None or not text.strip():
        errors.append(
            _error(
                element_path(header) + "/notification",
                "rules.nemsms-notification-missing",
                "A NEMSMS message needs a notification: it is the text of the SMS.",
            )
        )
    elif len(text) > NEMSMS_MAX_CHARS:
        errors.append(
            _error(
                element_path(notification),
                "rules.nemsms-notification-too-long",
                f"A NEMSMS notification may be at most {NEMSMS_MAX_CHARS} characters; "
                f"this one has {len(text)}: {_show(text, 40)}.",
            )
        )


def _check_body(
    body: etree._Element,
    errors: list[MemoError],
    max_content_bytes: int,
    max_attachments: int,
    verified_sizes: Mapping[etree._Element, int],
) -> None:
    attachments = 0
    total = 0
    for document in body.iterchildren(*_DOCUMENTS):
        if document.tag in _ATTACHMENTS:
            attachments += 1
        for child in document:
            if child.tag == _FILE:
                total += _check_file(child, errors, verified_sizes)
            elif child.tag == _ACTION:
                for entry_point in child.iterchildren(_ENTRY_POINT):
                    for url in entry_point.iterchildren(_URL):
                        _check_url(url, errors)
    if attachments > max_attachments:
        errors.append(
            _error(
                element_path(body),
                "rules.too-many-attachments",
                f"A message may carry at most {max_attachments} attachments "
                f"(AdditionalDocument and TechnicalDocument); this one has {attachments}.",
            )
        )
    if total > max_content_bytes:
        errors.append(
            _error(
                element_path(body),
                "rules.content-too-large",
                f"The files in this message hold {total:,} bytes once decoded; "
                f"the limit is {_bytes(max_content_bytes)}.",
            )
        )


def _bytes(count: int) -> str:
    if count < 1_000_000:
        return f"{count:,} bytes"
    return f"{count:,} bytes ({count / 1_000_000:g} MB)"


def _check_file(
    file: etree._Element, errors: list[MemoError], verified_sizes: Mapping[etree._Element, int]
) -> int:
    """Check one File; return its decoded size (0 if the content is absent or undecodable)."""
    fmt_element = _child(file, _ENCODING_FORMAT)
    fmt = _text(fmt_element)
    if fmt is not None and fmt.split(";", 1)[0].strip().lower() not in ALLOWED_MIME_TYPES:
        errors.append(
            _error(
                element_path(fmt_element),
                "rules.mime-type-not-allowed",
                f"The encodingFormat {_show(fmt)} is not a file type Digital Post accepts.",
            )
        )
    name_element = _child(file, _FILENAME)
    name = _text(name_element)
    if name is not None and _FORBIDDEN_IN_FILENAME.search(name):
        bad = sorted({c for c in name if c in FORBIDDEN_FILENAME_CHARS})
        if bad:
            errors.append(
                _error(
                    element_path(name_element),
                    "rules.filename-forbidden-character",
                    f"The filename {_show(name)} contains characters Digital Post forbids "
                    f"in filenames: {', '.join(_describe_char(c) for c in bad)}.",
                )
            )
    content = _child(file, _CONTENT)
    if content is None:
        return 0
    if content in verified_sizes:
        return verified_sizes[content]
    size, problem = _decoded_size(content)
    if problem is None:
        return size
    about = f"file {_show(name)}" if name else "this file"
    errors.append(
        _error(
            element_path(content),
            "rules.content-not-base64",
            f"The content of {about} is not valid base64: {problem}.",
        )
    )
    return 0


def _decoded_size(content: etree._Element) -> tuple[int, str | None]:
    """Whether the content is strict base64, and its decoded size, without decoding it.

    Content can be ~130 MB of text, so this holds at most two copies of it at a time: the
    element is read here rather than by the caller, letting each step free the one before.
    """
    text = _text(content) or ""
    if not text.isascii():
        return 0, f"it contains {_describe_char(_NON_ASCII.search(text).group())}"
    size = base64_decoded_size(text)
    if size is not None:
        return size, None
    # Explain in our own words what is wrong.
    stray = _NOT_BASE64.search(text.translate(_WITHOUT_XML_SPACE))
    if stray:
        return 0, f"it contains {_describe_char(stray.group())}"
    length = len(text.translate(_WITHOUT_XML_SPACE))
    return 0, f"its padding or length is wrong ({length} base64 characters)"


_BASE64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
_BASE64_SPACE = b" \t\r\n"
# Keeps the alphabet and "=", turns every other byte into NUL (which XML text cannot hold).
_BASE64_MARK_STRAYS = bytes(b if b in _BASE64_ALPHABET else 0 for b in range(256))


def base64_decoded_size(text: str) -> int | None:
    """The decoded size of strict base64 (XML white space allowed anywhere), else None.

    Accepts exactly RFC 4648 base64 once XML white space is removed: only the alphabet, a
    length that is a multiple of four, and at most two ``=`` at the very end. (Python's
    own "strict" decoder is laxer: it accepts surplus padding such as ``QUJD====``.) It
    decodes nothing: one C-speed translate and a few memchr scans instead of a decode,
    because attachments run to a hundred megabytes and every one is checked.
    """
    if not text.isascii():
        return None
    data = text.encode("ascii").translate(_BASE64_MARK_STRAYS, _BASE64_SPACE)
    if b"\0" in data or len(data) % 4:
        return None
    first_pad = data.find(b"=")
    padding = 0 if first_pad < 0 else len(data) - first_pad
    if padding > 2 or (padding and data[first_pad:] != b"=" * padding):
        return None
    return len(data) // 4 * 3 - padding


def _check_url(element: etree._Element, errors: list[MemoError]) -> None:
    # xs:anyURI collapses surrounding white space, so the schema's value is the stripped one.
    value = (_text(element) or "").strip()
    try:
        parts = urlsplit(value)
        ok = parts.scheme.lower() == "https" and bool(parts.hostname)
    except ValueError:  # e.g. a malformed IPv6 host
        ok = False
    if not ok:
        errors.append(
            _error(
                element_path(element),
                "rules.url-not-https",
                f"Action URLs must be absolute https:// URLs; {_show(value, 260)} is not.",
            )
        )
