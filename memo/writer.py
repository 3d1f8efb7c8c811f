"""Writing a :class:`~memo.model.Message` as MeMo XML.

The writer writes exactly what the model holds, in schema order: ``None`` fields are left
out, lists become repeated elements, and ``memoSchVersion`` appears only when
``memo_sch_version`` is set (so for 1.2, leave it ``None``). It does not validate; a model
that misses required values gives a document the validator will reject.

Date-times are written in UTC with a ``Z`` suffix, as MeMo requires; an aware value in
another zone is converted, a naive one is refused (``ValueError``), because guessing its
zone would change the instant. A value of the wrong Python type raises ``TypeError``
naming the field.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any
from uuid import UUID

from lxml import etree

from memo.model import LAYOUT, NAMESPACES, Message, MessageType, XsdType

__all__ = ["serialize", "to_tree"]

_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
_MESSAGE_TAG = f"{{{NAMESPACES['memo']}}}Message"


def serialize(message: Message, *, pretty: bool = False) -> bytes:
    """The message as UTF-8 XML bytes with an XML declaration.

    ``pretty`` indents the elements (leaf text is never touched), for people reading it.
    """
    root = to_tree(message)
    return _DECLARATION + etree.tostring(root, encoding="UTF-8", pretty_print=pretty)


def to_tree(message: Message) -> etree._Element:
    """The message as an lxml element tree (the ``memo:Message`` root element)."""
    if not isinstance(message, Message):
        raise TypeError(f"to_tree takes a memo.model.Message, not {type(message).__name__}")
    # Declare every conventional prefix up front so children reuse them, then drop the
    # declarations this particular message does not need.
    root = etree.Element(_MESSAGE_TAG, nsmap=NAMESPACES)
    if message.memo_version is not None:
        root.set("memoVersion", _text("Message", "memo_version", message.memo_version))
    if message.memo_sch_version is not None:
        root.set("memoSchVersion", _text("Message", "memo_sch_version", message.memo_sch_version))
    _write(root, message, _PLANS[Message])
    etree.cleanup_namespaces(root)
    return root


# --- Values -------------------------------------------------------------------------------


def _text(owner: str, name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{owner}.{name} must be str, not {type(value).__name__}")
    return value


def _boolean(value: Any) -> str:
    if not isinstance(value, bool):
        raise TypeError(f"must be bool, not {type(value).__name__}")
    return "true" if value else "false"


def _date(value: Any) -> str:
    # datetime is a date subclass; writing one here would silently drop its time.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise TypeError(f"must be datetime.date, not {type(value).__name__}")
    return value.isoformat()


def _datetime(value: Any) -> str:
    if not isinstance(value, datetime):
        raise TypeError(f"must be datetime.datetime, not {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("is a naive datetime; MeMo date-times must be timezone-aware (UTC)")
    value = value.astimezone(UTC)
    spec = "microseconds" if value.microsecond else "seconds"
    return value.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def _uuid(value: Any) -> str:
    if not isinstance(value, UUID):
        raise TypeError(f"must be uuid.UUID, not {type(value).__name__}")
    return str(value)


def _long(value: Any) -> str:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"must be int, not {type(value).__name__}")
    return str(value)


def _message_type(value: Any) -> str:
    # A plain "DIGITALPOST" is accepted too; StrEnum members are strs.
    if not isinstance(value, str):
        raise TypeError(f"must be MessageType, not {type(value).__name__}")
    return MessageType(value).value


_FORMATTERS: dict[XsdType, Callable[[Any], str] | None] = {
    XsdType.STRING: None,
    XsdType.BOOLEAN: _boolean,
    XsdType.DATE: _date,
    XsdType.DATETIME: _datetime,
    XsdType.UUID: _uuid,
    XsdType.LONG: _long,
    XsdType.MESSAGE_TYPE: _message_type,
}


# --- The walk -----------------------------------------------------------------------------


class _Plan:
    __slots__ = ("cls", "steps")

    def __init__(self, cls: type) -> None:
        self.cls = cls
        self.steps: list[tuple[str, str, Callable[[Any], str] | None, _Plan | None, bool]] = []


def _compile() -> dict[type, _Plan]:
    plans = {cls: _Plan(cls) for cls in LAYOUT}
    for cls, bindings in LAYOUT.items():
        for b in bindings:
            if isinstance(b.kind, XsdType):
                step = (b.tag, b.field, _FORMATTERS[b.kind], None, b.many)
            else:
                step = (b.tag, b.field, None, plans[b.kind], b.many)
            plans[cls].steps.append(step)
    return plans


_PLANS = _compile()
_SubElement = etree.SubElement


def _write(parent: etree._Element, obj: Any, plan: _Plan) -> None:
    owner = plan.cls.__name__
    for tag, name, fmt, sub, many in plan.steps:
        value = getattr(obj, name)
        if value is None:
            continue
        if many:
            if isinstance(value, str | bytes) or not hasattr(value, "__iter__"):
                raise TypeError(f"{owner}.{name} must be a list, not {type(value).__name__}")
            items = value
        else:
            items = (value,)
        for item in items:
            if sub is not None:
                if not isinstance(item, sub.cls):
                    raise TypeError(f"{owner}.{name} must hold {sub.cls.__name__}, not {type(item).__name__}")
                _write(_SubElement(parent, tag), item, sub)
                continue
            if fmt is None:
                text = _text(owner, name, item)
            else:
                try:
                    text = fmt(item)
                except TypeError as exc:
                    raise TypeError(f"{owner}.{name} {exc}") from None
                except (ValueError, OverflowError) as exc:
                    raise ValueError(f"{owner}.{name} {exc}") from None
            try:
                _SubElement(parent, tag).text = text
            except ValueError as exc:
                # lxml refuses control characters and the like that XML cannot carry.
                raise ValueError(f"{owner}.{name} cannot be written as XML: {exc}") from None
