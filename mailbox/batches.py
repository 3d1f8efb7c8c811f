"""Batch uploads: taken into the hub's care at once, judged chunk by chunk by the workers.

A sender posts thousands of MeMo files in one archive. Judging them in the request would keep
it open for as long as they take (and a proxy in front of the hub would give up first), so the
request only unpacks the archive within its limits, writes the files out in chunks and records
the batch (:func:`batch_accept`); it answers with the batch id and how many files it took.

Each chunk is then judged by a task (:func:`batch_chunk_send`), in parallel on as many worker
processes as there are, exactly as :func:`mailbox.sending.memo_send_many` judges files: every
file's receipt goes to the sender's receipt queue. A chunk's messages, receipts and its "done"
mark commit in one transaction, under a lock on the chunk, so a chunk is judged once even if
its task runs twice (the second finds it locked or done and returns at once), and not lost if
a worker dies (the sweep queues it again). A chunk that fails :data:`MAX_CHUNK_ATTEMPTS` times
is given up: each of its files gets an INVALID receipt (``BATCH_PROCESSING_FAILED``), so the
sender hears of it and the batch still finishes. The chunk that finishes the batch writes the
summary receipt (kind BATCH) with the counts.
"""

from __future__ import annotations

import io
import logging
import tarfile
import tempfile
import uuid
from collections import Counter
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.core.files.base import File
from django.core.files.storage import default_storage
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from adminaccess.models import System
from digitalpost.queueing import enqueue, enqueue_after_commit
from mailbox.models import Batch, BatchChunk, Receipt
from mailbox.sending import BATCH_CHUNK, _batch_refusal, memo_send_many
from mailbox.storage import removed_on_failure
from mailbox.storage import save as storage_save

log = logging.getLogger(__name__)

#: Files judged together: one task, one transaction (as :data:`mailbox.sending.BATCH_CHUNK`),
#: and fewer where they are large: a chunk is closed once it holds this many bytes.
CHUNK_FILES = BATCH_CHUNK
CHUNK_BYTES = 64 * 1024 * 1024
#: Times a worker may take a chunk before its files are refused instead.
MAX_CHUNK_ATTEMPTS = 5
#: A member too large to take is kept in the chunk as an empty file marked with this header,
#: so it is still judged (INVALID, PAYLOAD_TOO_LARGE) in its place.
TOO_LARGE = "DIGITALPOST.too-large"
#: The summary's counts, by outcome of :func:`memo_send_many`.
SUMMARY_KEYS = {
    "RECEIVED": "received",
    "DUPLICATE": "duplicates",
    "NOT_ALLOWED": "notAllowed",
    "INVALID": "invalid",
}


def batch_accept(*, system: System, members: Iterable[tuple[str, bytes | None]]) -> Batch:
    """Take a batch: write its files out in chunks and record it, then queue each chunk.

    ``members`` is (file name, bytes, or None for a file over the single-message limit), and
    may raise while it is read (an archive found broken or too large part-way): then nothing
    is recorded, the chunk files written so far are removed, and the error goes to the caller.
    """
    batch_id = uuid.uuid4()
    chunks: list[BatchChunk] = []
    with removed_on_failure():
        pending: list[tuple[str, bytes | None]] = []
        size = 0
        for member in members:
            pending.append(member)
            size += len(member[1] or b"")
            if len(pending) == CHUNK_FILES or size >= CHUNK_BYTES:
                chunks.append(_chunk_write(batch_id, len(chunks), pending))
                pending, size = [], 0
        if pending or not chunks:
            chunks.append(_chunk_write(batch_id, len(chunks), pending))
        with transaction.atomic():
            batch = Batch.objects.create(
                id=batch_id, sender_system=system, total=sum(chunk.files for chunk in chunks)
            )
            for chunk in chunks:
                chunk.batch = batch
            BatchChunk.objects.bulk_create(chunks)
            for pk in BatchChunk.objects.filter(batch=batch).values_list("pk", flat=True):
                from mailbox.tasks import send_batch_chunk

                enqueue_after_commit(send_batch_chunk, pk)
    return batch


def _chunk_write(batch_id: uuid.UUID, position: int, members) -> BatchChunk:
    # Past a few megabytes the tar goes to a temporary file: one copy of the files in memory.
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as raw:
        with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
            for name, data in members:
                info = tarfile.TarInfo(name)
                info.size = len(data) if data is not None else 0
                if data is None:
                    info.pax_headers = {TOO_LARGE: "1"}
                archive.addfile(info, io.BytesIO(data or b""))  # shares the bytes, no copy
        raw.seek(0)
        name = storage_save(default_storage, f"batches/{batch_id}/{position:05d}.tar", File(raw))
    return BatchChunk(position=position, file=name, files=len(members))


def _chunk_read(chunk: BatchChunk) -> list[tuple[str, bytes | None]]:
    with chunk.file.open("rb") as f, tarfile.open(fileobj=f, mode="r:") as archive:
        return [
            (member.name, None if TOO_LARGE in member.pax_headers else archive.extractfile(member).read())
            for member in archive
            if member.isfile()
        ]


def _locked(chunks):
    """``chunks`` locked for this transaction, skipping a chunk another worker holds."""
    if connection.features.has_select_for_update_skip_locked:
        return chunks.select_for_update(of=("self",), skip_locked=True)
    return chunks.select_for_update()


def batch_chunk_send(*, chunk_id: int) -> str:
    """Judge one chunk of a batch, once. Returns "done", "given up", "already done", "busy"
    (another worker is judging it) or "gone"."""
    # The attempt is counted in a transaction of its own, so it stays counted if judging fails.
    with transaction.atomic():
        chunk = _locked(BatchChunk.objects.filter(pk=chunk_id)).first()
        if chunk is None:
            return "busy" if BatchChunk.objects.filter(pk=chunk_id).exists() else "gone"
        if chunk.done_at is not None:
            return "already done"
        chunk.attempts += 1
        chunk.started_at = timezone.now()
        chunk.save(update_fields=["attempts", "started_at"])
    # If judging fails, the transaction rolls the rows back and the MeMo files go with them.
    with removed_on_failure(), transaction.atomic():
        chunk = _locked(BatchChunk.objects.select_related("batch__sender_system").filter(pk=chunk_id)).first()
        if chunk is None:
            return "busy"
        if chunk.done_at is not None:
            return "already done"
        batch = chunk.batch
        if chunk.attempts > MAX_CHUNK_ATTEMPTS:
            outcomes = _chunk_refuse(chunk)
            result = "given up"
        else:
            outcomes = memo_send_many(items=_chunk_read(chunk), system=batch.sender_system, batch_id=batch.id)
            result = "done"
        chunk.outcomes = dict(Counter(outcomes))
        chunk.done_at = timezone.now()
        chunk.save(update_fields=["outcomes", "done_at"])
        # Finishing chunks take the batch's lock in turn, so exactly one sees the batch done.
        batch = Batch.objects.select_for_update().get(pk=batch.pk)
        if not batch.chunks.filter(done_at__isnull=True).exists():
            _batch_finish(batch)
        name = chunk.file.name
        transaction.on_commit(lambda: default_storage.delete(name))
    return result


def _chunk_refuse(chunk: BatchChunk) -> list[str]:
    """Every file of a chunk that could not be judged gets an INVALID receipt instead."""
    try:
        names = [name for name, _ in _chunk_read(chunk)]
    except Exception:  # the chunk file itself may be what keeps failing
        log.exception("Batch %s: chunk %s cannot be read", chunk.batch_id, chunk.position)
        names = [f"chunk {chunk.position}, file {n + 1}" for n in range(chunk.files)]
    log.error(
        "Batch %s: chunk %s failed %s times; its files are refused",
        chunk.batch_id,
        chunk.position,
        MAX_CHUNK_ATTEMPTS,
    )
    system = chunk.batch.sender_system
    Receipt.objects.bulk_create(
        _batch_refusal(
            system,
            {"batchId": str(chunk.batch_id), "file": name},
            Receipt.Status.INVALID,
            "BATCH_PROCESSING_FAILED",
            "The hub could not judge this file of the batch; send it again.",
        )
        for name in names
    )
    return [Receipt.Status.INVALID] * len(names)


def _batch_finish(batch: Batch) -> None:
    counts: Counter = Counter()
    for outcomes in batch.chunks.values_list("outcomes", flat=True):
        counts.update(outcomes)
    summary = {"batchId": str(batch.id), "total": batch.total}
    summary.update({key: counts.get(outcome, 0) for outcome, key in SUMMARY_KEYS.items()})
    Receipt.objects.create(
        kind=Receipt.Kind.BATCH,
        sender_system=batch.sender_system,
        organisation=batch.sender_system.organisation,
        transmission_id=batch.id,
        status=Receipt.Status.COMPLETED,
        details=summary,
    )
    batch.finished_at = timezone.now()
    batch.save(update_fields=["finished_at"])


def batches_sweep(*, now=None) -> int:
    """Queue again every chunk not judged within ``DIGITALPOST_STUCK_AFTER_SECONDS`` of being
    queued and of being taken (its task was lost, its worker died, or judging it failed).
    Returns how many were queued."""
    from mailbox.tasks import send_batch_chunk

    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.DIGITALPOST_STUCK_AFTER_SECONDS)
    # Queued that long ago and not taken since, or taken that long ago and not finished.
    lost = Q(started_at__isnull=True) | Q(started_at__lt=stale)
    ids = list(
        BatchChunk.objects.filter(lost, done_at__isnull=True, queued_at__lt=stale).values_list(
            "pk", flat=True
        )[:1000]
    )
    if ids:
        BatchChunk.objects.filter(pk__in=ids).update(queued_at=now)
        log.info("Queueing %d batch chunks again", len(ids))
    for pk in ids:
        enqueue(send_batch_chunk, pk)
    return len(ids)
