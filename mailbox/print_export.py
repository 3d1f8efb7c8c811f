"""Handing rendered remote-print letters to a print provider, one batch at a time.

An exporter gets a batch id and the letters of the batch and either takes all of them or
raises: :func:`mailbox.printing.print_jobs_export` marks the letters exported only when
``export`` returns, so a failed batch is simply offered again on the next run.

Which exporter runs is the setting ``DIGITALPOST_PRINT_EXPORTER`` (a dotted path to a
:class:`PrintExporter` subclass). The default, :class:`FolderExporter`, writes one folder per
batch for a provider's pickup job; an SFTP or HTTP exporter for a real provider plugs in the
same way.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import tempfile
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from django.conf import settings
from django.core.files.storage import Storage, default_storage
from django.utils import timezone
from django.utils.module_loading import import_string


@dataclass(frozen=True)
class PrintLetter:
    """One rendered letter in an export batch: what a print provider needs, and no CPR number."""

    message_uuid: uuid.UUID
    sender_name: str
    sender_id: str
    recipient_name: str
    recipient_address: str
    pages: int
    # Documents that could not be printed, as recorded on the print job.
    problems: list[dict]
    pdf_name: str
    storage: Storage = field(default=default_storage, repr=False, compare=False)

    @property
    def filename(self) -> str:
        return f"{self.message_uuid}.pdf"

    def open_pdf(self) -> IO[bytes]:
        return self.storage.open(self.pdf_name, "rb")

    def manifest_entry(self) -> dict:
        return {
            "messageUUID": str(self.message_uuid),
            "file": self.filename,
            "pages": self.pages,
            "recipient": {
                "name": self.recipient_name,
                "addressLines": self.recipient_address.splitlines(),
            },
            "sender": {"name": self.sender_name, "id": self.sender_id},
            "problems": self.problems,
        }


class PrintExporter:
    """Takes a whole batch or raises; a batch that raised is offered again later."""

    def export(self, batch_id: str, jobs: Sequence[PrintLetter]) -> None:
        raise NotImplementedError


# Batch ids become folder names: keep them to characters that cannot climb out of the folder.
_SAFE_BATCH_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}\Z")


class FolderExporter(PrintExporter):
    """Writes ``<folder>/<batch_id>/`` with ``<messageUUID>.pdf`` per letter and ``manifest.json``.

    The batch is assembled in a hidden sibling folder (its name starts with a dot) and renamed
    into place when complete, so a pickup job that ignores dot-folders never sees half a batch.
    """

    def __init__(self, folder: str | Path | None = None) -> None:
        self.folder = Path(folder if folder is not None else settings.DIGITALPOST_PRINT_FOLDER)

    def export(self, batch_id: str, jobs: Sequence[PrintLetter]) -> None:
        if not _SAFE_BATCH_ID.match(batch_id):
            raise ValueError(f"Unsafe batch id for a folder name: {batch_id!r}")
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.folder / batch_id
        if final.exists():
            # Renaming onto an existing empty folder would succeed silently on POSIX.
            raise FileExistsError(f"Print batch folder {final} already exists.")
        staging = Path(tempfile.mkdtemp(prefix=f".{batch_id}.", dir=self.folder))
        try:
            for job in jobs:
                with job.open_pdf() as source, open(staging / job.filename, "wb") as target:
                    shutil.copyfileobj(source, target)
                    _flush(target)
            manifest = {
                "batchId": batch_id,
                "createdAt": timezone.now().isoformat(),
                "count": len(jobs),
                "jobs": [job.manifest_entry() for job in jobs],
            }
            with open(staging / "manifest.json", "w", encoding="utf-8") as target:
                json.dump(manifest, target, ensure_ascii=False, indent=2)
                _flush(target)
            os.rename(staging, final)
            _sync_dir(self.folder)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            raise


def print_exporter() -> PrintExporter:
    """The exporter named by ``DIGITALPOST_PRINT_EXPORTER``."""
    return import_string(settings.DIGITALPOST_PRINT_EXPORTER)()


def _flush(target: IO) -> None:
    # The database will say "exported" once this returns: the bytes must be on disk by then.
    target.flush()
    os.fsync(target.fileno())


def _sync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
