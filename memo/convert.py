"""Converting a MeMo message between versions 1.1 and 1.2.

A recipient system chooses the MeMo version it takes; the hub stores what the sender sent
and converts on the way out. The two versions differ only in their envelope and in two
1.2 additions:

* 1.1 requires ``memoSchVersion`` (``1.1.0``); 1.2 forbids it.
* 1.1 requires ``mandatory`` and ``legalNotification``; in 1.2 both are optional, and
  absent means ``false`` (the schema default), so writing ``false`` changes no meaning.
* 1.2 added ``Sender/Representative`` and ``ForwardData/originalRepresentative``. 1.1 has
  no place for them, so going down to 1.1 drops them: the only loss a conversion causes.

Pure Python, no Django: the input is never changed, the result is a new message.
"""

from __future__ import annotations

import copy

from memo.model import MEMO_1_1, MEMO_1_2, MEMO_SCH_VERSION_1_1, Message

__all__ = ["VERSIONS", "convert"]

VERSIONS = (MEMO_1_1, MEMO_1_2)


def convert(message: Message, to_version: str) -> Message:
    """``message`` as MeMo ``to_version`` (``"1.1"`` or ``"1.2"``), as a new object."""
    if to_version not in VERSIONS:
        raise ValueError(f"MeMo version must be one of {', '.join(VERSIONS)}, not {to_version!r}")
    if message.memo_version not in VERSIONS:
        raise ValueError(f"cannot convert from MeMo version {message.memo_version!r}")
    result = copy.deepcopy(message)
    if message.memo_version == to_version:
        return result
    result.memo_version = to_version
    header = result.header
    if to_version == MEMO_1_1:
        result.memo_sch_version = MEMO_SCH_VERSION_1_1
        if header.mandatory is None:
            header.mandatory = False
        if header.legal_notification is None:
            header.legal_notification = False
        if header.sender is not None:
            header.sender.representative = None
        if header.forward_data is not None:
            header.forward_data.original_representative = None
    else:
        result.memo_sch_version = None
    return result
