"""MeMo, the message format of Danish Digital Post: a typed model, a safe reader, a writer,
and validation against the project's own XSDs (MeMo 1.1 and 1.2) plus NgDP's rules.

No Django here: a sender system can use this package on its own::

    from memo import parse, serialize, validate

    report = validate(data)      # every error, each with level, path, code and message
    message = parse(data)        # memo.model.Message
    data = serialize(message)
"""

from memo.errors import MemoError, MemoParseError
from memo.model import Message
from memo.reader import NOT_READ, NotReadError, from_tree, parse
from memo.validation import ValidationReport, validate, validate_tree
from memo.writer import serialize, to_tree

__all__ = [
    "NOT_READ",
    "MemoError",
    "MemoParseError",
    "Message",
    "NotReadError",
    "ValidationReport",
    "from_tree",
    "parse",
    "serialize",
    "to_tree",
    "validate",
    "validate_tree",
]
