"""Reading untrusted bytes into an lxml tree without letting them cost us.

The hub reads XML from the internet. Before libxml2 sees a byte we refuse what MeMo never
needs: documents over the size limit, any DOCTYPE (so no entity tricks, billion laughs or
XXE can start), and encodings other than UTF-8. The parser itself is configured to resolve
no entities, load no DTD and touch no network, as a second line of defence. libxml2 caps
nesting depth (256 levels, far above MeMo's) and we translate its refusal into our own code.
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

_BOM = b"\xef\xbb\xbf"
_XML_DECL = re.compile(rb"<\?xml\s[^>]*?\?>")
_ENCODING = re.compile(rb"""encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
# What may stand before the root element: white space, comments, processing instructions.
_PROLOG_ITEM = re.compile(rb"\s+|<!--.*?-->|<\?.*?\?>", re.DOTALL)


def _parser(huge: bool) -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        load_dtd=False,
        dtd_validation=False,
        no_network=True,
        remove_comments=False,
        huge_tree=huge,
        collect_ids=False,
    )


_PARSERS = {False: _parser(False), True: _parser(True)}


def check_prolog(data: bytes) -> bytes:
    """Refuse non-UTF-8 encodings and DOCTYPEs; return the data without a UTF-8 BOM."""
    if data.startswith(_BOM):
        data = data[len(_BOM) :]
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or data[:4] in (
        b"\x00<\x00?",
        b"<\x00?\x00",
    ):
        raise MemoParseError("xml.encoding-unsupported", "MeMo documents must be UTF-8, not UTF-16.")
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
    if not data.strip():
        raise MemoParseError("xml.empty", "The document is empty.")
    data = check_prolog(bytes(data))
    parser = _PARSERS[len(data) >= _HUGE_TREE_FROM]
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise _translate(exc) from None
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


def _translate(exc: etree.XMLSyntaxError) -> MemoParseError:
    text = str(exc)
    line = getattr(exc, "lineno", None)
    where = f" (line {line})" if line else ""
    lowered = text.lower()
    if "excessive depth" in lowered or "maximum depth" in lowered:
        return MemoParseError("xml.too-deep", f"The document is nested too deeply{where}.")
    if "huge" in lowered:
        return MemoParseError("xml.too-large", f"A text node or name is too large{where}.")
    if "encoding" in lowered or "utf-8" in lowered or "bytes:" in lowered:
        return MemoParseError("xml.encoding-invalid", f"The document is not valid UTF-8{where}: {text}")
    if "entity" in lowered:
        return MemoParseError("xml.entity-forbidden", f"Entity references are not allowed{where}.")
    if "premature end" in lowered or "end of data" in lowered or "not properly terminated" in lowered:
        return MemoParseError("xml.truncated", f"The document ends before it is complete{where}.")
    return MemoParseError("xml.malformed", f"The document is not well-formed XML: {text}")
