"""One call that says whether a MeMo message is acceptable, and everything wrong with it.

Three levels are checked in order and reported separately, so a caller can tell "this is not
XML at all" from "the XSD refuses it" from "Digital Post's extra rules refuse it":

1. ``xml``: the bytes are parsed by :func:`memo.xmlsafe.parse_tree`. If that fails nothing
   else can run, and the report holds exactly that one error.
2. ``schema``: :func:`memo.schema.validate_schema` against the XSD for the message's version.
3. ``rules``: :func:`memo.rules.check_rules`. These run even when the schema check failed, so
   a sender sees every problem in one round trip; the rules are written to skip what is
   missing rather than trip over it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from lxml import etree

from memo.errors import MemoError, MemoParseError
from memo.rules import MAX_CONTENT_BYTES, base64_decoded_size, check_rules, element_path
from memo.schema import validate_schema
from memo.xmlsafe import DEFAULT_MAX_BYTES, MEMO_NS, parse_tree

log = logging.getLogger(__name__)

_KNOWN_VERSIONS = {Decimal("1.1"): "1.1", Decimal("1.2"): "1.2"}


@dataclass(slots=True)
class ValidationReport:
    xml_errors: list[MemoError] = field(default_factory=list)
    schema_errors: list[MemoError] = field(default_factory=list)
    rule_errors: list[MemoError] = field(default_factory=list)
    #: ``"1.1"`` or ``"1.2"``; for other values the memoVersion attribute as written; None
    #: when the document did not parse or has no memoVersion.
    version: str | None = None
    #: The parsed tree (root ``Message`` element), or None if the bytes did not parse.
    root: etree._Element | None = field(default=None, repr=False, compare=False)
    #: False when the rules were not run (schema-only validation, or unparseable input), so
    #: an ``ok`` report says nothing about them.
    rules_checked: bool = False

    @property
    def errors(self) -> list[MemoError]:
        return [*self.xml_errors, *self.schema_errors, *self.rule_errors]

    @property
    def ok(self) -> bool:
        return not (self.xml_errors or self.schema_errors or self.rule_errors)


def validate(
    data: bytes,
    *,
    schema_only: bool = False,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_content_bytes: int = MAX_CONTENT_BYTES,
) -> ValidationReport:
    """Validate a MeMo document given as bytes at every level that applies."""
    try:
        root = parse_tree(data, max_bytes=max_bytes)
    except MemoParseError as exc:
        return ValidationReport(xml_errors=[exc.error])
    return validate_tree(root, schema_only=schema_only, max_content_bytes=max_content_bytes)


def validate_tree(
    root: etree._Element,
    *,
    schema_only: bool = False,
    max_content_bytes: int = MAX_CONTENT_BYTES,
) -> ValidationReport:
    """Validate an already parsed tree (from :func:`memo.xmlsafe.parse_tree`)."""
    if isinstance(root, etree._ElementTree):
        root = root.getroot()
    report = ValidationReport(root=root, version=message_version(root))
    verified = _verified_large_contents(root)
    report.schema_errors = _validate_schema_eliding(root, verified)
    if not schema_only:
        report.rule_errors = _run_rules(root, max_content_bytes, verified)
        report.rules_checked = True
    return report


#: Contents longer than this are checked for base64 by us, not by libxml2 (see below).
LARGE_CONTENT_CHARS = 64 * 1024
_CONTENT = f"{{{MEMO_NS}}}content"
_FILE = f"{{{MEMO_NS}}}File"


def _verified_large_contents(root: etree._Element) -> dict[etree._Element, int]:
    """Large ``File/content`` elements that are strict base64, with their decoded sizes."""
    verified = {}
    for content in root.iter(_CONTENT):
        text = content.text
        if (
            text is not None
            and len(text) > LARGE_CONTENT_CHARS
            and len(content) == 0  # nothing but text, so .text is the whole value
            and content.getparent() is not None
            and content.getparent().tag == _FILE
        ):
            size = base64_decoded_size(text)
            if size is not None:
                verified[content] = size
    return verified


def _validate_schema_eliding(root: etree._Element, verified: dict[etree._Element, int]) -> list[MemoError]:
    """The XSD verdict, without making libxml2 walk large attachments character by character.

    libxml2 checks ``xs:base64Binary`` so slowly that a 5 MB attachment costs ten plain
    parses. Text our strict check accepts is valid under libxml2's more lenient reading
    too, so hiding it from the schema pass cannot change the verdict. Each verified
    ``content`` element is swapped for a stub with a short valid text for the pass and
    swapped back after: the swap moves nodes and copies no text, whereas putting 5 MB of
    text back into lxml would cost as much as the check it saves.
    """
    if not verified:
        return validate_schema(root)
    swapped = []
    try:
        for content in verified:
            stub = etree.Element(_CONTENT)
            stub.text = "AAAA"
            stub.tail = content.tail
            content.getparent().replace(content, stub)
            swapped.append((content, stub))
        return validate_schema(root)
    finally:
        for content, stub in swapped:
            stub.getparent().replace(stub, content)


def message_version(root: etree._Element) -> str | None:
    """The message's memoVersion, normalised to ``"1.1"``/``"1.2"`` where it is one of them."""
    raw = root.get("memoVersion")
    if raw is None:
        return None
    try:
        return _KNOWN_VERSIONS.get(Decimal(raw.strip()), raw.strip())
    except InvalidOperation:
        return raw.strip()


def _run_rules(
    root: etree._Element, max_content_bytes: int, verified: dict[etree._Element, int]
) -> list[MemoError]:
    try:
        return check_rules(root, max_content_bytes=max_content_bytes, verified_sizes=verified)
    except Exception:
        # The rules are built not to raise on any tree; should one still do so, refuse the
        # message rather than let it through unchecked or turn it into a server error.
        log.exception("MeMo rule check failed")
        return [
            MemoError(
                level="rules",
                path=element_path(root),
                code="rules.check-failed",
                message="The rule check failed on this message; it cannot be accepted.",
            )
        ]
