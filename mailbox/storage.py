"""Where the hub keeps files: the database storage for stored MeMo, and files written for
some work, removed again if that work fails.

**Stored MeMo** go to the storage named "memo" in ``STORAGES``. By default that is
:class:`DatabaseStorage`: each file one row of :class:`mailbox.models.StoredFile`, written in
the transaction (on PostgreSQL, in the very statement) that stores its message. Any Django
storage can take its place (a file system or object storage, say): the code reads and writes
MeMo only through the storage API, and writes a file first where it cannot be part of the
transaction.

**Files written for some work**:
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
from datetime import UTC

from django.core.files.base import ContentFile, File
from django.core.files.storage import Storage, default_storage, storages
from django.utils.deconstruct import deconstructible

_written: ContextVar[list[tuple[Storage, str]] | None] = ContextVar("mailbox_written_files", default=None)


def save(storage: Storage, name: str, content) -> str:
    """``storage.save(name, content)``, noted for :func:`removed_on_failure` when inside one
    (a file in the database goes with its transaction, and needs no note)."""
    stored = storage.save(name, content)
    written = _written.get()
    if written is not None and not isinstance(storage, DatabaseStorage):
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


def memo_storage() -> Storage:
    """The storage of stored MeMo (``Message.memo_file``): ``STORAGES["memo"]``."""
    return storages["memo"]


@deconstructible(path="mailbox.storage.DatabaseStorage")
class DatabaseStorage(Storage):
    """Files as rows of :class:`mailbox.models.StoredFile`, in the default database.

    A save is an INSERT in the caller's transaction: rolled back with it, committed with it.
    Names are kept as given (a name already taken gets Django's alternative name, as on a
    file system; the hub's names hold a transmission id, so two saves never race for one).
    There are no URLs: the hub's views hand out what a user may see.

    A name not in the database is looked for in the default storage, where MeMo were kept
    before migration 0016 copied them here: a web or worker process of the earlier release
    still running during an upgrade writes there, and its files stay readable.
    """

    @staticmethod
    def _files():
        from mailbox.models import StoredFile

        return StoredFile.objects

    def _stored(self, name: str, column: str, earlier):
        """One column of the named file's row; where there is none, ``earlier(name)`` from
        the default storage if it holds the name, else FileNotFoundError."""
        value = self._files().filter(name=name).values_list(column, flat=True).first()
        if value is not None:
            return value
        if self._earlier(name):
            return earlier(name)
        raise FileNotFoundError(f"No stored file {name!r}.")

    def _open(self, name: str, mode: str = "rb"):
        if "w" in mode or "a" in mode or "+" in mode:
            raise ValueError("Stored files are written with save(), not opened for writing.")
        content = self._stored(name, "content", lambda earlier: default_storage.open(earlier, mode))
        return content if isinstance(content, File) else ContentFile(bytes(content), name=name)

    @staticmethod
    def _earlier(name: str) -> bool:
        """Whether the default storage holds this name (see the class's account)."""
        try:
            return default_storage.exists(name)
        except Exception:  # a storage that cannot say (a name it refuses): not there
            return False

    def _save(self, name: str, content) -> str:
        data = b"".join(chunk.encode() if isinstance(chunk, str) else chunk for chunk in content.chunks())
        self._files().create(name=name, content=data, size=len(data))
        return name

    def delete(self, name: str) -> None:
        self._files().filter(name=name).delete()

    def exists(self, name: str) -> bool:
        return self._files().filter(name=name).exists() or self._earlier(name)

    def size(self, name: str) -> int:
        return self._stored(name, "size", default_storage.size)

    def listdir(self, path: str) -> tuple[list[str], list[str]]:
        prefix = path.rstrip("/") + "/" if path else ""
        folders, files = set(), []
        for name in self._files().filter(name__startswith=prefix).values_list("name", flat=True):
            head, slash, _ = name[len(prefix) :].partition("/")
            if slash:
                folders.add(head)
            else:
                files.append(head)
        return sorted(folders), sorted(files)

    def get_created_time(self, name: str):
        return self._stored(name, "created_at", default_storage.get_created_time).astimezone(UTC)

    get_modified_time = get_created_time

    def path(self, name: str) -> str:
        raise NotImplementedError("Files in the database have no path on disk.")
