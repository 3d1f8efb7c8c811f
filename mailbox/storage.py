"""Files written for some work, removed again if that work fails.

A file is written inside the work it belongs to: a MeMo file once its message row exists, in
the caller's transaction; a batch's chunk files while the upload is read. If the work fails
later (a batch chunk's transaction rolled back part-way, an archive found broken), its rows
are gone but the files would stay behind. Such work runs in :func:`removed_on_failure`;
:func:`save` notes every file written inside it, and the files are deleted if the block raises.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.core.files.storage import Storage

_written: ContextVar[list[tuple[Storage, str]] | None] = ContextVar("mailbox_written_files", default=None)


def save(storage: Storage, name: str, content) -> str:
    """``storage.save(name, content)``, noted for :func:`removed_on_failure` when inside one."""
    stored = storage.save(name, content)
    written = _written.get()
    if written is not None:
        written.append((storage, stored))
    return stored


@contextmanager
def removed_on_failure() -> Iterator[None]:
    """Delete the files :func:`save` wrote in this block if the block raises."""
    token = _written.set([])
    try:
        yield
    except BaseException:
        for storage, name in _written.get() or []:
            storage.delete(name)
        raise
    finally:
        _written.reset(token)
