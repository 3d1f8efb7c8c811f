"""Reading MeMo XML into the model of :mod:`memo.model`.

The reader builds the model; it does not validate. It is lenient about structure, which
is the schema's business: unknown elements are skipped, a missing required element leaves
``None`` (or an empty list) in its field, a repeated single element keeps the last one.

It is strict about values it must convert. A boolean, date, date-time, UUID, number,
``messageType`` or ``memoVersion`` that cannot be read as such raises
:class:`~memo.errors.MemoParseError` with code ``memo.unreadable-value`` and the path of
the element: ``/Message/MessageHeader/reply``, with a 1-based position on elements MeMo
lets repeat (``File[1]``) and on any other element a broken document repeats.
No other exception escapes :func:`parse` or :func:`from_tree`.

Accepted beyond the letter of the schema, because nothing is lost by it: white space around
typed values; date-times with a numeric UTC offset instead of ``Z`` (converted to UTC, the
zone every date-time in the model is in). Two losses to know about: a time zone on
``doNotDeliverUntilDate`` (legal in ``xs:date``, never seen in MeMo) is dropped, and
fractional seconds beyond microseconds are truncated.

The walk visits each element once and dispatches on its tag through a dictionary; no XPath
and no schema decoding, so reading costs a small multiple of lxml's own parsing.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from uuid import UUID

from lxml import etree

from memo import xmlsafe
from memo.errors import MemoParseError
from memo.model import LAYOUT, Message, MessageType, XsdType

__all__ = ["NOT_READ", "NotReadError", "from_tree", "parse"]

_MESSAGE_TAG = f"{{{xmlsafe.MEMO_NS}}}Message"
_UNREADABLE = "memo.unreadable-value"


def parse(data: bytes, *, max_bytes: int = xmlsafe.DEFAULT_MAX_BYTES) -> Message:
    """Parse untrusted bytes into a :class:`~memo.model.Message`.

    Raises :class:`MemoParseError` when the bytes are not a safe, well-formed MeMo
    document (codes ``xml.*``) or hold a value that cannot be read (``memo.unreadable-value``).
    """
    return from_tree(xmlsafe.parse_tree(data, max_bytes=max_bytes))


def from_tree(root: etree._Element, *, skip: Iterable[type] = ()) -> Message:
    """Build a :class:`~memo.model.Message` from the root element of a parsed document.

    ``skip`` names model classes a caller does not need (the send API: the body, whose rows it
    builds later from the stored MeMo, and header parts it neither stores nor routes by). A
    skipped part that is present is not built: its field holds :data:`NOT_READ`, which raises
    :class:`NotReadError` on any use, so code that reads a part it skipped fails loudly instead
    of taking it for absent; an absent part reads as ``None`` or ``[]`` as always. The typed
    values inside skipped parts are still converted and refused as in a full read, so a
    document a partial read accepts reads in full too.
    """
    if isinstance(root, etree._ElementTree):
        root = root.getroot()
    if root.tag != _MESSAGE_TAG:
        raise MemoParseError(
            "xml.not-memo",
            f"The root element must be Message in namespace {xmlsafe.MEMO_NS}, not {root.tag}.",
        )
    skip = frozenset(skip)
    message = _read(root, (_plans_skipping(skip) if skip else _PLANS)[Message])
    version = root.get("memoVersion")
    if version is not None:
        try:
            version = _decimal(version)
        except ValueError:
            raise MemoParseError(
                _UNREADABLE,
                f"memoVersion {version!r} is not a decimal number.",
                "/Message/@memoVersion",
            ) from None
    message.memo_version = version
    message.memo_sch_version = root.get("memoSchVersion")
    return message


# --- Values -------------------------------------------------------------------------------

_BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
_DATE = re.compile(r"(\d{4})-(\d\d)-(\d\d)(?:Z|[+-]\d\d:\d\d)?", re.ASCII)
_DATETIME = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?", re.ASCII)
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_LONG = re.compile(r"[+-]?[0-9]+")
_DECIMAL = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?")


def _boolean(text: str) -> bool:
    try:
        return _BOOLEANS[text.strip()]
    except KeyError:
        raise ValueError("not a boolean (true, false, 1 or 0)") from None


def _date(text: str) -> date:
    m = _DATE.fullmatch(text.strip())
    if m is None:
        raise ValueError("not a date (YYYY-MM-DD)")
    return date(int(m[1]), int(m[2]), int(m[3]))


def _datetime(text: str) -> datetime:
    m = _DATETIME.fullmatch(text.strip())
    if m is None:
        raise ValueError("not a date-time (YYYY-MM-DDThh:mm:ssZ)")
    zone = m[8]
    if zone is None:
        # MeMo date-times are UTC; guessing a zone for a local time would invent data.
        raise ValueError("date-time without a time zone; MeMo date-times end in Z")
    fraction = m[7]
    if fraction is None and zone == "Z":
        # The common case; fromisoformat is the quickest exact conversion.
        return datetime.fromisoformat(m[0])
    micro = int((fraction or "")[:6].ljust(6, "0"))
    if zone == "Z":
        tz = UTC
    else:
        sign = -1 if zone[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:6])))
    moment = datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), int(m[6]), micro, tzinfo=tz)
    # Hold every MeMo date-time in UTC, as the wire format does.
    return moment if tz is UTC else moment.astimezone(UTC)


def _uuid(text: str) -> UUID:
    text = text.strip()
    if _UUID.fullmatch(text) is None:
        raise ValueError("not a UUID (8-4-4-4-12 hexadecimal digits)")
    return UUID(text)


def _long(text: str) -> int:
    text = text.strip()
    if _LONG.fullmatch(text) is None:
        raise ValueError("not a whole number")
    return int(text)


def _message_type(text: str) -> MessageType:
    try:
        return MessageType(text.strip())
    except ValueError:
        raise ValueError("not a message type (DIGITALPOST or NEMSMS)") from None


def _decimal(text: str) -> str:
    """Read an ``xs:decimal`` and return it in a canonical spelling (``1.20`` -> ``1.2``),
    so version checks can compare strings."""
    m = _DECIMAL.fullmatch(text.strip())
    if m is None or not (m[2] or m[3]):
        raise ValueError("not a decimal")
    whole = m[2].lstrip("0") or "0"
    fraction = (m[3] or "").rstrip("0")
    sign = "-" if m[1] == "-" and (whole != "0" or fraction) else ""
    return f"{sign}{whole}.{fraction}" if fraction else f"{sign}{whole}"


_CONVERTERS: dict[XsdType, Callable[[str], Any] | None] = {
    XsdType.STRING: None,
    XsdType.BOOLEAN: _boolean,
    XsdType.DATE: _date,
    XsdType.DATETIME: _datetime,
    XsdType.UUID: _uuid,
    XsdType.LONG: _long,
    XsdType.MESSAGE_TYPE: _message_type,
}


# --- The walk -----------------------------------------------------------------------------


class NotReadError(AttributeError):
    """A part of the message that the read skipped was used (see :func:`from_tree`)."""


class _NotRead:
    """The value of a part a partial read skipped (:data:`NOT_READ`); any use raises."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "NOT_READ"

    # One of it, copied or pickled.
    def __copy__(self) -> _NotRead:
        return self

    def __deepcopy__(self, memo) -> _NotRead:
        return self

    def __reduce__(self) -> str:
        return "NOT_READ"

    def _refuse(self, *args, **kwargs):
        raise NotReadError("this part of the MeMo message was skipped when it was read (from_tree skip=)")

    __bool__ = __len__ = __iter__ = __getitem__ = __contains__ = _refuse

    def __getattr__(self, name: str):
        if name.startswith("__"):  # copy, pickle and friends ask politely
            raise AttributeError(name)
        self._refuse()


#: What a skipped part reads as (see :func:`from_tree`).
NOT_READ = _NotRead()


class _Plan:
    """A model class's layout, compiled for quick dispatch on child tags. ``typed``: whether
    any element under it holds a value to convert (not a string); ``skipped``: whether the
    read skips it (checks its values, builds nothing)."""

    __slots__ = ("by_tag", "cls", "initial", "leaves", "skipped", "typed")

    def __init__(self, cls: type, *, skipped: bool = False) -> None:
        self.cls = cls
        # Required fields must be passed to the constructor; absent ones become None.
        self.initial = {
            f.name: None
            for f in dataclasses.fields(cls)
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        }
        self.by_tag: dict[str, tuple[str, Callable[[str], Any] | None, _Plan | None, bool]] = {}
        self.skipped = skipped
        self.typed = False
        #: The typed leaves anywhere under it, by tag, where each such tag has one type
        #: everywhere under it (else None): what a check of a skipped part looks for.
        self.leaves: dict[str, Callable[[str], Any]] | None = None


def _compile(skip: frozenset[type] = frozenset()) -> dict[type, _Plan]:
    if Message in skip or not skip <= LAYOUT.keys():
        raise ValueError(f"cannot skip {sorted(c.__name__ for c in skip if c is Message or c not in LAYOUT)}")
    plans = {cls: _Plan(cls) for cls in LAYOUT}
    skipped = {cls: _Plan(cls, skipped=True) for cls in skip}
    for cls, bindings in LAYOUT.items():
        for b in bindings:
            if isinstance(b.kind, XsdType):
                entry = (b.field, _CONVERTERS[b.kind], None, b.many)
            else:
                entry = (b.field, None, skipped.get(b.kind) or plans[b.kind], b.many)
            plans[cls].by_tag[b.tag] = entry
    for cls, plan in skipped.items():
        plan.by_tag = plans[cls].by_tag  # its values are checked as a read would convert them
    every = [*plans.values(), *skipped.values()]
    changed = True
    while changed:  # until every plan above a typed value knows it
        changed = False
        for plan in every:
            typed = any(
                c is not None or (sub is not None and sub.typed) for _, c, sub, _ in plan.by_tag.values()
            )
            if typed and not plan.typed:
                plan.typed, changed = True, True
    for plan in every:
        plan.leaves = _typed_leaves(plan)
    return plans


def _typed_leaves(plan: _Plan) -> dict[str, Callable[[str], Any]] | None:
    kinds: dict[str, set] = {}
    seen, todo = set(), [plan]
    while todo:
        for tag, (_, convert, sub, _) in todo.pop().by_tag.items():
            kinds.setdefault(tag, set()).add(convert if sub is None else sub.cls)
            if sub is not None and sub.cls not in seen:
                seen.add(sub.cls)
                todo.append(sub)
    leaves = {}
    for tag, found in kinds.items():
        typed = {kind for kind in found if callable(kind) and not isinstance(kind, type)}
        if typed:
            if len(found) > 1:
                return None  # a tag that is typed here and something else there
            leaves[tag] = typed.pop()
    return leaves


_PLANS = _compile()


@functools.cache
def _plans_skipping(skip: frozenset[type]) -> dict[type, _Plan]:
    return _compile(skip)


def _read(element: etree._Element, plan: _Plan) -> Any:
    values = plan.initial.copy()
    by_tag = plan.by_tag
    for child in element:
        entry = by_tag.get(child.tag)
        if entry is None:
            # Unknown elements, comments and processing instructions: the schema's concern.
            continue
        name, convert, sub, many = entry
        if sub is not None:
            if sub.skipped:
                if sub.typed:
                    _check(child, sub)
                values[name] = NOT_READ
                continue
            value = _read(child, sub)
        elif convert is None:
            value = child.text if not len(child) else _own_text(child)
            if value is None:
                value = ""
        else:
            value = _typed_value(child, convert)
        if many:
            existing = values.get(name)
            if existing is None:
                values[name] = [value]
            else:
                existing.append(value)
        else:
            values[name] = value
    return plan.cls(**values)


def _check(element: etree._Element, plan: _Plan) -> None:
    """:func:`_read` without building anything: convert the typed values under ``element``
    and raise as ``_read`` would. Where each typed tag under the part has one type, lxml
    finds them (in document order, as the walk would) and nothing else is visited; the
    difference from the walk, that an element the layout does not know is looked into too,
    cannot arise in a document the schema accepts."""
    leaves = plan.leaves
    if leaves is not None:
        for child in element.iter(*leaves):
            if child is not element:
                _typed_value(child, leaves[child.tag])
        return
    by_tag = plan.by_tag
    for child in element:
        entry = by_tag.get(child.tag)
        if entry is None:
            continue
        _, convert, sub, _ = entry
        if sub is not None:
            if sub.typed:
                _check(child, sub)
        elif convert is not None:
            _typed_value(child, convert)


def _typed_value(element: etree._Element, convert: Callable[[str], Any]) -> Any:
    """The value of a typed leaf, or MemoParseError (``memo.unreadable-value``) with its path."""
    text = element.text if not len(element) else _own_text(element)
    if text is None:
        text = ""
    try:
        return convert(text)
    except (ValueError, OverflowError) as exc:
        raise _unreadable(element, text, exc) from None


def _unreadable(element: etree._Element, text: str, exc: Exception) -> MemoParseError:
    shown = text if len(text) <= 60 else text[:57] + "..."
    return MemoParseError(
        _UNREADABLE,
        f"{etree.QName(element).localname} {shown!r} cannot be read: {exc}.",
        _path(element),
    )


def _own_text(element: etree._Element) -> str:
    # Comments or stray elements split the text; keep the character data around them.
    parts = [element.text or ""]
    parts.extend(child.tail or "" for child in element)
    return "".join(parts)


# Elements MeMo lets repeat always carry a position, so a path keeps its shape whether there
# is one File or five; this matches the paths memo.rules reports.
_REPEATABLE = frozenset(
    etree.QName(b.tag).localname for bindings in LAYOUT.values() for b in bindings if b.many
)


def _path(element: etree._Element) -> str:
    """XPath-like location without prefixes, computed only when an error needs it."""
    steps = []
    node: etree._Element | None = element
    while node is not None:
        step = etree.QName(node).localname
        parent = node.getparent()
        if parent is not None:
            same = [sibling for sibling in parent if sibling.tag == node.tag]
            if len(same) > 1 or step in _REPEATABLE:
                step += f"[{same.index(node) + 1}]"
        steps.append(step)
        node = parent
    return "/" + "/".join(reversed(steps))
