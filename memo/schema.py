"""Checking a MeMo tree against the project's own XML Schema for its version.

The schemas live in ``memo/schemas/`` (``memo-1.1/memo.xsd`` and ``memo-1.2/memo.xsd``, both
built on ``common/``). They are written for this project and give the same verdict as the
official MeMo XSDs on every document; ``tests/memo/test_differential.py`` holds them to that.

libxml2 does the validation. Its error log is translated into :class:`MemoError` values with
a path like ``/Message/MessageHeader/label`` (no namespace prefixes, positional predicates
such as ``File[2]`` where an element has same-named siblings), a stable ``schema.*`` code and
a plain sentence. libxml2 stops checking the rest of an element's children after a content
model error, so one broken element can hide later problems among its siblings; everything it
does report is returned.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

from lxml import etree

from memo.errors import MemoError
from memo.xmlsafe import MEMO_NS

SUPPORTED_VERSIONS: tuple[str, ...] = ("1.1", "1.2")

_SCHEMA_DIR = Path(__file__).resolve().parent / "schemas"
_ENTRY_FILES = {"1.1": "memo-1.1/memo.xsd", "1.2": "memo-1.2/memo.xsd"}

DT_NS = "https://data.gov.dk/model/dataTypes/"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
UDD_NS = (
    "https://www.dst.dk/da/TilSalg/Forskningsservice/Dokumentation/hoejkvalitetsvariable/elevregister-2/udd#"
)

#: How messages name elements of the MeMo family: MeMo's own by their local name, the
#: borrowed ones with their usual prefix (grd:CPRdata), so that an element in the wrong one of
#: these namespaces is told apart. Elements of any other namespace are shown with it in full.
_PREFIXES = {
    MEMO_NS: "",
    DT_NS: "dt",
    "https://data.gov.dk/model/core/": "grd",
    "http://kle-online.dk/": "kle",
    "http://www.form-online.dk/": "form",
    "https://motorregister.skat.dk/": "dmv",
    "https://www.gs1.dk/gs1-standarder/identifikation/gln-global-location-number/": "gln",
    "https://services.nsi.dk/en/Services/SOR": "sor",
    UDD_NS: "udd",
}


def schema_path(version: str) -> Path:
    """The entry XSD for a MeMo version ("1.1" or "1.2")."""
    try:
        return _SCHEMA_DIR / _ENTRY_FILES[version]
    except KeyError:
        raise ValueError(
            f"no MeMo schema for version {version!r}; supported: {', '.join(SUPPORTED_VERSIONS)}"
        ) from None


# lxml keeps one error log per XMLSchema object and validates without the GIL, so two threads
# sharing a validator would read each other's errors. Each thread gets its own (loading one
# takes a few milliseconds, once).
_per_thread = threading.local()


def _validator(version: str) -> etree.XMLSchema:
    cache: dict[str, etree.XMLSchema] | None = getattr(_per_thread, "schemas", None)
    if cache is None:
        cache = _per_thread.schemas = {}
    schema = cache.get(version)
    if schema is None:
        # Our schema files only import each other by relative path; the parser is told not to
        # use the network anyway, so a stray URL could never be fetched.
        parser = etree.XMLParser(no_network=True, resolve_entities=False, load_dtd=False)
        schema = etree.XMLSchema(etree.parse(str(schema_path(version)), parser))
        cache[version] = schema
    return schema


def validate_schema(
    root: etree._Element | etree._ElementTree, *, version: str | None = None
) -> list[MemoError]:
    """Validate a MeMo tree against the schema for ``version`` (default: its memoVersion).

    Returns every error libxml2 reports, in document order; an empty list means valid.
    """
    if isinstance(root, etree._ElementTree):
        root = root.getroot()
    if version is None:
        declared = root.get("memoVersion")
        # xs:decimal collapses white space, so " 1.2 " declares 1.2 as far as the schema goes.
        version = declared.strip() if declared is not None else None
        if version not in _ENTRY_FILES:
            return [_unknown_version(root, declared, explicit=False)]
    elif version not in _ENTRY_FILES:
        return [_unknown_version(root, version, explicit=True)]
    schema = _validator(version)
    if schema.validate(root):
        return []
    paths = _PathFinder(root)
    return [_translate(entry, paths) for entry in schema.error_log]


def _unknown_version(root: etree._Element, value: str | None, *, explicit: bool) -> MemoError:
    name = etree.QName(root).localname
    supported = " or ".join(SUPPORTED_VERSIONS)
    if explicit:
        return MemoError(
            "schema",
            f"/{name}",
            "schema.unknown-version",
            f"There is no MeMo schema for version {value!r}; use {supported}.",
        )
    if value is None:
        return MemoError(
            "schema",
            f"/{name}",
            "schema.unknown-version",
            f"{name} has no memoVersion attribute, so its MeMo version is unknown (expected {supported}).",
        )
    return MemoError(
        "schema",
        f"/{name}/@memoVersion",
        "schema.unknown-version",
        f"MeMo version {_quote(value)} is not supported; memoVersion must be {supported}.",
    )


# ---------------------------------------------------------------------------------------------
# Paths


class _PathFinder:
    """Turns libxml2's node paths into prefix-free paths, resolving through the tree.

    libxml2 writes ``memo:File[2]`` where the document uses a prefix but a bare ``*[7]``
    (counting all element siblings) where it uses a default namespace, so the text alone
    cannot be trusted to name the element; we walk the tree to find it and then name it
    ourselves, the same way whatever prefixes the sender chose.
    """

    _STEP = re.compile(r"(?:(?P<prefix>[^:\[\]]+):)?(?P<name>[^:\[\]]+)(?:\[(?P<index>\d+)\])?")

    def __init__(self, root: etree._Element) -> None:
        self.root = root
        # Sibling lists are computed once per parent: a hostile document can put many
        # thousand erroneous children under one parent.
        self._children: dict[etree._Element, list[etree._Element]] = {}

    def element_children(self, node: etree._Element) -> list[etree._Element]:
        children = self._children.get(node)
        if children is None:
            children = self._children[node] = list(node.iterchildren(etree.Element))
        return children

    def find(self, raw: str) -> etree._Element | None:
        steps = raw.strip("/").split("/")
        node = self.root
        for step in steps[1:]:  # the first step is the validation root itself
            match = self._STEP.fullmatch(step)
            if match is None:
                return None
            index = int(match["index"] or 1)
            children = self.element_children(node)
            if match["name"] == "*":
                candidates = children
            else:
                prefix, name = match["prefix"], match["name"]
                candidates = [c for c in children if c.prefix == prefix and etree.QName(c).localname == name]
            if index > len(candidates):
                return None
            node = candidates[index - 1]
        return node

    def path(self, raw: str | None) -> str:
        if not raw:
            return "/" + etree.QName(self.root).localname
        node = self.find(raw)
        if node is None:
            # Should not happen; a readable approximation beats failing the whole report.
            return re.sub(r"(?<=/)[^/:\[\]]+:", "", raw)
        parts: list[str] = []
        while node is not None:
            name = etree.QName(node).localname
            parent = node.getparent()
            if node is self.root or parent is None:
                parts.append(name)
                break
            same = [c for c in self.element_children(parent) if c.tag == node.tag]
            if len(same) > 1:
                name = f"{name}[{next(i for i, c in enumerate(same, 1) if c is node)}]"
            parts.append(name)
            node = parent
        return "/" + "/".join(reversed(parts))


# ---------------------------------------------------------------------------------------------
# Error translation

# libxml2's error types, grouped by what they mean for a sender.
_CODES = {
    "SCHEMAV_CVC_MAXLENGTH_VALID": "schema.too-long",
    "SCHEMAV_CVC_MINLENGTH_VALID": "schema.too-short",
    "SCHEMAV_CVC_LENGTH_VALID": "schema.invalid-value",
    "SCHEMAV_CVC_PATTERN_VALID": "schema.pattern-mismatch",
    "SCHEMAV_CVC_ENUMERATION_VALID": "schema.not-in-enumeration",
    "SCHEMAV_CVC_MAXINCLUSIVE_VALID": "schema.out-of-range",
    "SCHEMAV_CVC_MININCLUSIVE_VALID": "schema.out-of-range",
    "SCHEMAV_CVC_MAXEXCLUSIVE_VALID": "schema.out-of-range",
    "SCHEMAV_CVC_MINEXCLUSIVE_VALID": "schema.out-of-range",
    "SCHEMAV_CVC_TOTALDIGITS_VALID": "schema.invalid-value",
    "SCHEMAV_CVC_FRACTIONDIGITS_VALID": "schema.invalid-value",
    "SCHEMAV_CVC_DATATYPE_VALID_1_2_1": "schema.invalid-datatype",
    "SCHEMAV_CVC_DATATYPE_VALID_1_2_2": "schema.invalid-datatype",
    "SCHEMAV_CVC_DATATYPE_VALID_1_2_3": "schema.invalid-datatype",
    "SCHEMAV_CVC_COMPLEX_TYPE_4": "schema.missing-attribute",
    "SCHEMAV_CVC_COMPLEX_TYPE_3_2_1": "schema.unexpected-attribute",
    "SCHEMAV_CVC_COMPLEX_TYPE_3_2_2": "schema.unexpected-attribute",
    "SCHEMAV_CVC_TYPE_3_1_1": "schema.unexpected-attribute",
    "SCHEMAV_CVC_TYPE_3_1_2": "schema.unexpected-element",
    "SCHEMAV_CVC_COMPLEX_TYPE_2_1": "schema.unexpected-text",
    "SCHEMAV_CVC_COMPLEX_TYPE_2_3": "schema.unexpected-text",
    "SCHEMAV_CVC_ELT_1": "schema.unknown-root",
    "SCHEMAV_CVC_ELT_3_1": "schema.invalid-xsi",
    "SCHEMAV_CVC_ELT_3_2_1": "schema.invalid-xsi",
    "SCHEMAV_CVC_ELT_3_2_2": "schema.invalid-xsi",
    "SCHEMAV_CVC_ELT_4_1": "schema.invalid-xsi",
    "SCHEMAV_CVC_ELT_4_2": "schema.invalid-xsi",
    "SCHEMAV_CVC_ELT_4_3": "schema.invalid-xsi",
}
# Content-model errors carry one type for two situations; the wording tells them apart.
_CONTENT_TYPES = frozenset({"SCHEMAV_ELEMENT_CONTENT", "SCHEMAV_CVC_COMPLEX_TYPE_2_4"})

_HEAD = re.compile(
    r"Element '(?P<element>[^']*)'(?:, attribute '(?P<attribute>[^']*)')?: (?P<detail>.*)", re.S
)
_CLARK = re.compile(r"\{(?P<ns>[^}]*)\}(?P<local>[\w.\-]+)")
_EXPECTED = re.compile(r"Expected is (?:one of )?\( (?P<names>.*?) \)")
_LENGTH = re.compile(r"has a length of '(?P<actual>\d+)'.*length of '(?P<limit>\d+)'", re.S)
# libxml2 cuts its messages at about 64,000 characters, so a huge value may have lost its
# closing quote and everything after it; the value patterns accept the end of text instead.
_VALUE = re.compile(r"The value '(?P<value>.*?)(?:' (?:is not|has|is greater|is less)|$)", re.S)
_PATTERN = re.compile(r"by the pattern '(?P<pattern>.*)'\.?$", re.S)
_SET = re.compile(r"the set \{(?P<items>.*)\}\.?$", re.S)
_LIMIT = re.compile(r"allowed \('(?P<limit>[^']*)'\)")
_BAD_VALUE = re.compile(
    r"'(?P<value>.*?)(?:' is not a valid value of the (?:local )?(?:atomic|list|union) type"
    r"(?: '(?P<type>[^']*)')?|$)",
    re.S,
)

_PATTERN_MEANING = {
    "[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-4[0-9A-Fa-f]{3}-[89ABab][0-9A-Fa-f]{3}-[0-9A-Fa-f]{12}": (
        "a random (version 4) UUID such as 8c2ea15d-61fb-4ba9-9366-42f8b194c114"
    ),
    ".+Z": "a date and time in UTC ending in Z, such as 2025-09-30T12:00:00Z",
}

_TYPE_MEANING = {
    "xs:boolean": "true or false (or 1 or 0)",
    "xs:date": "a date written YYYY-MM-DD",
    "xs:dateTime": "a date and time written YYYY-MM-DDThh:mm:ss",
    "xs:decimal": "a decimal number such as 1.2",
    "xs:base64Binary": "base64-encoded data",
    "xs:anyURI": "a URI",
    "xs:language": "a language tag such as da",
    "xs:long": "a whole number",
    "xs:string": "text",
    f"{{{DT_NS}}}UtcTimestamp": "a date and time in UTC, such as 2025-09-30T12:00:00Z",
    f"{{{DT_NS}}}LocationNumber": "a whole number of at most 13 digits (a GLN)",
    f"{{{DT_NS}}}ProductionUnitId": "a whole number of at most 10 digits (a P-number)",
    f"{{{DT_NS}}}TwoLetterLanguage": "a language code of one or two letters, such as da",
    f"{{{DT_NS}}}LinkAddress": "a URI of at most 256 characters",
}

_MAX_QUOTED = 60
_LONG_QUOTED = re.compile(rf"'([^']{{{_MAX_QUOTED + 1},}})(?:'|$)")
# When libxml2's message lost the type name to its length cut, the element names the type;
# only a file's content is realistically that long.
_TYPE_BY_ELEMENT = {"content": "xs:base64Binary"}


def _quote(value: str) -> str:
    """Quote a document value for a message, shortened: values can be megabytes of base64."""
    if len(value) > _MAX_QUOTED:
        value = value[: _MAX_QUOTED - 1] + "…"
    return f"'{value}'"


def _display(name: str) -> str:
    """How an element is named in a message: local name, plus the namespace if it is foreign."""
    match = _CLARK.fullmatch(name)
    if match is None:
        return f"{name} (in no namespace)" if name and ":" not in name else name
    prefix = _PREFIXES.get(match["ns"])
    if prefix is not None:
        return f"{prefix}:{match['local']}" if prefix else match["local"]
    return f"{match['local']} (in namespace {match['ns']})"


def _attribute_display(name: str) -> str:
    match = _CLARK.fullmatch(name)
    if match is None:
        return name
    if match["ns"] == XSI_NS:
        return f"xsi:{match['local']}"
    return f"{match['local']} (in namespace {match['ns']})"


def _alternatives(names: list[str]) -> str:
    shown = [_display(n.strip()) for n in names if n.strip()]
    if len(shown) == 1:
        return shown[0]
    # libxml2 names at most ten of the elements that could come next.
    return "one of " + ", ".join(shown) + (", among others" if len(shown) >= 10 else "")


def _translate(entry: etree._LogEntry, paths: _PathFinder) -> MemoError:
    type_name = entry.type_name
    head = _HEAD.match(entry.message)
    if head is None:
        # Not tied to an element (libxml2 internal trouble): pass it on, readable as it is.
        return MemoError("schema", paths.path(entry.path), "schema.invalid", entry.message)
    element = _display(head["element"])
    attribute = head["attribute"]
    detail = head["detail"].strip()
    path = paths.path(entry.path)
    attribute_local = None
    if attribute is not None:
        attribute_local = _CLARK.sub(r"\g<local>", attribute)
        attribute = _attribute_display(attribute)
    subject = element if attribute is None else f"The attribute {attribute} of {element}"

    if type_name in _CONTENT_TYPES:
        expected = _EXPECTED.search(detail)
        names = expected["names"].split(",") if expected else []
        if detail.startswith("Missing child element"):
            what = _alternatives(names) if names else "a required child element"
            return MemoError(
                "schema", path, "schema.missing-element", f"{element} is incomplete: {what} is missing."
            )
        if names:
            message = f"{element} is not allowed here; expected {_alternatives(names)}."
        else:
            message = f"{element} is not allowed here; nothing more may follow at this point."
        return MemoError("schema", path, "schema.unexpected-element", message)

    code = _CODES.get(type_name, "schema.invalid")
    if attribute_local is not None:
        # The error is about an attribute that is there: point at it, not at its element.
        path = f"{path}/@{attribute_local}"
    return MemoError("schema", path, code, _sentence(code, subject, element, attribute, detail))


def _sentence(code: str, subject: str, element: str, attribute: str | None, detail: str) -> str:
    if code in ("schema.too-long", "schema.too-short"):
        length = _LENGTH.search(detail)
        if length:
            actual, limit = int(length["actual"]), int(length["limit"])
            bound = "at most" if code == "schema.too-long" else "at least"
            return (
                f"{subject} is {actual} character{'s' * (actual != 1)} long; "
                f"{bound} {limit} {'is' if limit == 1 else 'are'} allowed."
            )
    elif code == "schema.pattern-mismatch":
        value, pattern = _VALUE.search(detail), _PATTERN.search(detail)
        if value:
            meaning = (
                _PATTERN_MEANING.get(pattern["pattern"], f"text matching {pattern['pattern']}")
                if pattern
                else "in the form its type requires"
            )
            return f"{subject} must be {meaning}; {_quote(value['value'])} is not."
    elif code == "schema.not-in-enumeration":
        value, allowed = _VALUE.search(detail), _SET.search(detail)
        if value:
            items = (
                ", ".join(item.strip().strip("'") for item in allowed["items"].split(","))
                if allowed
                else "its allowed values"
            )
            return f"{subject} must be one of {items}; {_quote(value['value'])} is not."
    elif code == "schema.out-of-range":
        value, limit = _VALUE.search(detail), _LIMIT.search(detail)
        if value and limit:
            relation = "greater" if "greater" in detail else "less"
            bound = "maximum" if relation == "greater" else "minimum"
            return (
                f"{subject} is out of range: {_quote(value['value'])} is {relation} than the "
                f"{bound} {limit['limit']}."
            )
    elif code == "schema.invalid-datatype":
        bad = _BAD_VALUE.match(detail)
        if bad:
            type_name = bad["type"] or _TYPE_BY_ELEMENT.get(element, "")
            meaning = _TYPE_MEANING.get(type_name, "a valid value of its type")
            value = bad["value"]
            shown = "it is empty" if value == "" else f"{_quote(value)} is not"
            return f"{subject} must be {meaning}; {shown}."
    elif code == "schema.missing-attribute":
        name = re.search(r"attribute '([^']*)'", detail)
        return f"{element} must have the attribute {name[1] if name else '(unnamed)'}."
    elif code == "schema.unexpected-attribute":
        name = attribute or (re.search(r"attribute '([^']*)'", detail) or [None, "?"])[1]
        return f"{element} may not have the attribute {name}."
    elif code == "schema.unexpected-element":
        return f"{element} may contain only text, not child elements."
    elif code == "schema.unexpected-text":
        return f"{element} may contain only elements, not text."
    elif code == "schema.unknown-root":
        return f"{element} is not a MeMo message element, so it cannot be the root of a message."
    elif code == "schema.invalid-xsi":
        if "nillable" in detail or "nil" in detail:
            return f"{element} may not be marked nil (xsi:nil)."
        return f"{element} has an xsi:type that the MeMo schema does not allow here."
    # Anything we do not word ourselves: libxml2's detail, with readable element names and
    # long values shortened.
    detail = _LONG_QUOTED.sub(lambda m: _quote(m[1]), _CLARK.sub(lambda m: _display(m[0]), detail))
    return f"{subject}: {detail}" if detail.endswith(".") else f"{subject}: {detail}."
