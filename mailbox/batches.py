"""Batch uploads: taken into the hub's care at once, judged chunk by chunk by the workers.

A sender posts thousands of MeMo files in one archive. Judging them in the request would keep
it open for as long as they take (and a proxy in front of the hub would give up first), so the
request only unpacks the archive within its limits, writes the files out in chunks and records
the batch (:func:`batch_accept`); it answers with the batch id and how many files it took.

Each chunk is then judged by a task (:func:`batch_chunk_send`), in parallel on as many worker
processes as there are, exactly as :func:`mailbox.sending.memo_send_many` judges files: every
file's receipt goes to the sender's receipt queue. A chunk's messages, receipts and its "done"
mark commit in one transaction, under a lock on the chunk, so a chunk is judged once even if
its task runs twice, and not lost if a worker dies (the sweep queues it again). The chunk that
finishes the batch writes the summary receipt (kind BATCH) with the counts.
"""

from __future__ import annotations

import io
import logging
import tarfile
import uuid
from collections import Counter
from collections.abc import Iterable
from datetime import timedelta

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from adminaccess.models import System
from digitalpost.queueing import enqueue, enqueue_after_commit
from mailbox.models import Batch, BatchChunk, Receipt
from mailbox.sending import BATCH_CHUNK, memo_send_many

log = logging.getLogger(__name__)

#: Files judged together: one task, one transaction (as :data:`mailbox.sending.BATCH_CHUNK`).
CHUNK_FILES = BATCH_CHUNK
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
    written: list[str] = []
    chunks: list[BatchChunk] = []
    try:
        pending: list[tuple[str, bytes | None]] = []
        for member in members:
            pending.append(member)
            if len(pending) == CHUNK_FILES:
                chunks.append(_chunk_write(batch_id, len(chunks), pending, written))
                pending = []
        if pending or not chunks:
            chunks.append(_chunk_write(batch_id, len(chunks), pending, written))
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
    except BaseException:
        for name in written:
            default_storage.delete(name)
        raise
    return batch


def _chunk_write(batch_id: uuid.UUID, position: int, members, written: list[str]) -> BatchChunk:
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data) if data is not None else 0
            if data is None:
                info.pax_headers = {TOO_LARGE: "1"}
            archive.addfile(info, io.BytesIO(data or b""))
    name = default_storage.save(f"batches/{batch_id}/{position:05d}.tar", ContentFile(raw.getvalue()))
    written.append(name)
    return BatchChunk(position=position, file=name, files=len(members))


def _chunk_read(chunk: BatchChunk) -> list[tuple[str, bytes | None]]:
    with chunk.file.open("rb") as f, tarfile.open(fileobj=f, mode="r:") as archive:
        return [
            (member.name, None if TOO_LARGE in member.pax_headers else archive.extractfile(member).read())
            for member in archive
            if member.isfile()
        ]


def batch_chunk_send(*, chunk_id: int) -> str:
    """Judge one chunk of a batch, once. Returns "done", "already done" or "gone"."""
    with transaction.atomic():
        chunk = (
            BatchChunk.objects.select_for_update(of=("self",))
            .select_related("batch__sender_system")
            .filter(pk=chunk_id)
            .first()
        )
        if chunk is None:
            return "gone"
        if chunk.done_at is not None:
            return "already done"
        batch = chunk.batch
        outcomes = memo_send_many(items=_chunk_read(chunk), system=batch.sender_system, batch_id=batch.id)
        chunk.outcomes = dict(Counter(outcomes))
        chunk.done_at = timezone.now()
        chunk.save(update_fields=["outcomes", "done_at"])
        # Finishing chunks take the batch's lock in turn, so exactly one sees the batch done.
        batch = Batch.objects.select_for_update().get(pk=batch.pk)
        if not batch.chunks.filter(done_at__isnull=True).exists():
            _batch_finish(batch)
        name = chunk.file.name
        transaction.on_commit(lambda: default_storage.delete(name))
    return "done"


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
    queued (its task was lost, or its worker died). Returns how many were queued."""
    from mailbox.tasks import send_batch_chunk

    now = now or timezone.now()
    stale = now - timedelta(seconds=settings.DIGITALPOST_STUCK_AFTER_SECONDS)
    ids = list(
        BatchChunk.objects.filter(done_at__isnull=True, queued_at__lt=stale).values_list("pk", flat=True)[
            :1000
        ]
    )
    if ids:
        BatchChunk.objects.filter(pk__in=ids).update(queued_at=now)
        log.info("Queueing %d batch chunks again", len(ids))
    for pk in ids:
        enqueue(send_batch_chunk, pk)
    return len(ids)
