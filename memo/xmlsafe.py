"""Reading untrusted bytes into an lxml tree without letting them cost us.

The hub reads XML from the internet. Before libxml2 sees a byte we refuse what MeMo never
needs: documents over the size limit, documents with more markup than any message has (so
a few megabytes of ``<a/>`` cannot cost gigabytes of tree), any DOCTYPE (so no entity
tricks, billion laughs or XXE can start), and encodings other than UTF-8. The parser itself
is configured to resolve no entities, load no DTD and touch no network, as a second line of
defence. libxml2 caps nesting depth (256 levels, far above MeMo's) and we translate its
refusal into our own code.
"""

from __future__ import annotations

import re

from lxml import etree

from memo.errors import MemoParseError

MEMO_NS = "https://DigitalPost.dk/MeMo-1"

#: 99.5 MB of documents grows by a third in base64, plus the XML around it.
DEFAULT_MAX_BYTES = 140 * 1024 * 1024

# libxml2 refuses single text nodes over 10 MB unless huge_tree is on; a large attachment
# is one such node. huge_tree also raises libxml2's depth cap (256 -> 2048), so we turn it
# on only where the size makes it necessary.
_HUGE_TREE_FROM = 9 * 1024 * 1024

#: libxml2 spends 100-350 bytes per element, attribute or comment, so markup is what makes a
#: tree outgrow its document (8 MB of ``<a/>`` become a 256 MB tree). A MeMo message has a
#: few hundred elements (the official full example: 260) and a handful of attributes, so we
#: cap the count of ``<`` (elements, comments, PIs, CDATA) and of ``=`` (attributes and
#: namespace declarations, plus the odd one in text), keeping any tree to tens of MB.
MAX_MARKUP = 50_000
MAX_ASSIGNMENTS = 50_000

_BOM = b"\xef\xbb\xbf"
_XML_DECL = re.compile(rb"<\?xml\s[^>]*?\?>")
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
# What may stand before the root element: white space, comments, processing instructions.
_PROLOG_ITEM = re.compile(rb"\s+|<!--.*?-->|<\?.*?\?>", re.DOTALL)


def _parser(huge: bool, blanks: bool = False) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        no_network=True,
        remove_comments=False,
        huge_tree=huge,
        collect_ids=False,
        # The white space between elements (indentation) means nothing in MeMo, whose elements
        # hold either elements or text, never both: dropping it halves what parsing, the XSD
        # and the rules cost. libxml2 keeps the text of an element that holds only white
        # space, so every value reads as written; beside a comment or processing instruction
        # inside a value it might not, so such documents are read again keeping all their
        # white space (see parse_tree).
        remove_blank_text=not blanks,
    )


_PARSERS = {(huge, blanks): _parser(huge, blanks) for huge in (False, True) for blanks in (False, True)}


def check_prolog(data: bytes) -> bytes:
    """Refuse non-UTF-8 encodings and DOCTYPEs; return the data without a UTF-8 BOM."""
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    # A NUL byte is never legal XML, so one among the first four means UTF-16 or UTF-32, with
    # or without a byte order mark.
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data[:4]:
        raise MemoParseError(
            "xml.encoding-unsupported", "MeMo documents must be UTF-8, not UTF-16 or UTF-32."
        )
    pos = 0
    decl = _XML_DECL.match(data)
    if decl:
        enc = _ENCODING.search(decl.group(0))
        if enc and enc.group(1).decode("ascii").upper().replace("_", "-") not in ("UTF-8", "UTF8"):
            raise MemoParseError(
                "xml.encoding-unsupported",
                f"MeMo documents must be UTF-8; this one declares {enc.group(1).decode('ascii')}.",
            )
        pos = decl.end()
    # Walk the prolog; it is short, so this costs nothing on real messages.
    while True:
        item = _PROLOG_ITEM.match(data, pos)
        if not item or item.end() == pos:
            break
        pos = item.end()
    if data.startswith(b"<!DOCTYPE", pos) or data.startswith(b"<!ENTITY", pos):
        raise MemoParseError(
            "xml.doctype-forbidden",
            "DOCTYPE declarations are not allowed in MeMo (no DTDs or entities).",
        )
    return data


#: Below this size bytes.count is cheapest; above it, memchr-driven find() calls are.
_COUNT_BY_FIND_FROM = 256 * 1024


def _more_than(data: bytes, needle: bytes, limit: int) -> bool:
    """Whether ``needle`` occurs more than ``limit`` times.

    A large message is mostly base64, with few ``<`` or ``=`` in it: ``find`` (memchr)
    skips the long runs between them several times faster than ``count`` walks every byte,
    and a flood of markup stops the loop at ``limit``.
    """
    if len(data) <= limit:
        return False  # too short to hold that many
    if len(data) < _COUNT_BY_FIND_FROM:
        return data.count(needle) > limit
    find, position = data.find, -1
    for _ in range(limit + 1):
        position = find(needle, position + 1)
        if position < 0:
            return False
    return True


def parse_tree(data: bytes, *, max_bytes: int = DEFAULT_MAX_BYTES) -> etree._Element:
    """Parse untrusted bytes into the root element of a MeMo document.

    Raises :class:`MemoParseError` with a specific code for every way this can fail.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise TypeError("parse_tree takes bytes")
    if len(data) > max_bytes:
        raise MemoParseError(
            "xml.too-large",
            f"The document is {len(data)} bytes; the limit is {max_bytes} bytes.",
        )
    data = check_prolog(bytes(data))
    # isspace() stops at the first other byte; strip() would copy a large document.
    if not data or data.isspace():
        raise MemoParseError("xml.empty", "The document is empty.")
    if _more_than(data, b"<", MAX_MARKUP):
        raise MemoParseError(
            "xml.too-many-nodes",
            f"The document has more than {MAX_MARKUP} elements, comments or other markup; "
            "no MeMo message needs that many.",
        )
    if _more_than(data, b"=", MAX_ASSIGNMENTS):
        raise MemoParseError(
            "xml.too-many-nodes",
            f"The document has more than {MAX_ASSIGNMENTS} attributes; no MeMo message needs that many.",
        )
    huge = len(data) >= _HUGE_TREE_FROM
    try:
        root = etree.fromstring(data, _PARSERS[huge, False])
        if root is not None and next(root.iter(etree.Comment, etree.ProcessingInstruction), None) is not None:
            # Beside a comment or processing instruction libxml2 may have taken white space
            # from a value: read such a (rare) document again, keeping all of it.
            root = etree.fromstring(data, _PARSERS[huge, True])
    except etree.XMLSyntaxError as exc:
        raise _translate(exc, data, huge) from None
    if root is None:
        raise MemoParseError("xml.empty", "The document has no root element.")
    if root.getroottree().docinfo.doctype:
        raise MemoParseError("xml.doctype-forbidden", "DOCTYPE declarations are not allowed in MeMo.")
    if root.tag != f"{{{MEMO_NS}}}Message":
        raise MemoParseError(
            "xml.not-memo",
            f"The root element must be Message in namespace {MEMO_NS}, not {root.tag}.",
        )
    return root


def _translate(exc: etree.XMLSyntaxError, data: bytes, huge: bool) -> MemoParseError:
    text = str(exc)
    line = getattr(exc, "lineno", None)
    where = f" (line {line})" if line else ""
    lowered = text.lower()
    if "excessive depth" in lowered or "maximum depth" in lowered:
        return MemoParseError("xml.too-deep", f"The document is nested too deeply{where}.")
    if "huge" in lowered:
        return MemoParseError("xml.too-large", f"A text node or name is too large{where}.")
    if "entity" in lowered:
        # Cut off inside "&amp;" is a truncation; any other entity trouble is an entity.
        tail = data[data.rfind(b"&") :]
        if len(tail) <= 64 and b"<" not in tail and _ends_early(data, huge):
            return MemoParseError("xml.truncated", f"The document ends before it is complete{where}.")
        return MemoParseError("xml.entity-forbidden", f"Entity references are not allowed{where}.")
    if _ends_early(data, huge):
        return MemoParseError("xml.truncated", f"The document ends before it is complete{where}.")
    if "encoding" in lowered or "utf-8" in lowered or "bytes:" in lowered:
        return MemoParseError("xml.encoding-invalid", f"The document is not valid UTF-8{where}: {text}")
    if "premature end" in lowered or "end of data" in lowered or "not properly terminated" in lowered:
        return MemoParseError("xml.truncated", f"The document ends before it is complete{where}.")
    return MemoParseError("xml.malformed", f"The document is not well-formed XML: {text}")


def _ends_early(data: bytes, huge: bool) -> bool:
    """Whether ``data`` breaks off inside an otherwise well-formed document.

    libxml2 words a cut-off document a dozen ways ("Couldn't find end of Start Tag",
    "AttValue: ' expected", ...), often the same ways as real syntax errors. Its push parser
    settles it: fed the bytes, it processes every construct it can see the end of and waits
    at one that could still go on. So if feeding logs no error and only closing fails, the
    input was cut short. Feeding raises only for fatal errors; the others (an undeclared
    prefix or entity) are merely logged, so we read the thread's error log, which we clear
    first. Only reached for input already refused: the second parse costs good mail nothing.
    """
    feeder = _parser(huge)
    etree.clear_error_log()
    try:
        feeder.feed(data)
    except etree.XMLSyntaxError:
        return False
    # An lxml exception carries a snapshot of the thread's error log; that is the public way
    # to read it.
    if any(entry.level >= etree.ErrorLevels.ERROR for entry in etree.LxmlError("").error_log):
        return False
    try:
        feeder.close()
    except etree.XMLSyntaxError:
        return True
    return False
