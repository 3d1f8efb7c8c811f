"""Errors reported by the MeMo library.

Every problem found in a message is a :class:`MemoError` with a location (an XPath-like
path without namespace prefixes, e.g. ``/Message/MessageHeader/label``), a stable ``code``
that callers may branch on, and a plain-language ``message``. Validation collects all of
them instead of stopping at the first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: ``xml``: the bytes are not a well-formed, safe, UTF-8 MeMo document at all.
#: ``schema``: what the MeMo XSD decides.
#: ``rules``: what NgDP enforces beyond the XSD.
Level = Literal["xml", "schema", "rules"]


@dataclass(frozen=True, slots=True)
class MemoError:
    level: Level
    path: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.code}: {self.message}"


class MemoParseError(ValueError):
    """The input could not be read as a MeMo document (level ``xml``)."""

    def __init__(self, code: str, message: str, path: str = "/") -> None:
        super().__init__(f"{code}: {message}")
        self.error = MemoError(level="xml", path=path, code=code, message=message)

    @property
    def code(self) -> str:
        return self.error.code
