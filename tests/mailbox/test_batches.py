"""Batch uploads taken at once and judged chunk by chunk: once each, never lost."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.core.files.storage import default_storage
from django.db import connection, connections
from django.utils import timezone

from mailbox import batches
from mailbox.batches import batch_accept, batch_chunk_send, batches_sweep
from mailbox.models import Batch, BatchChunk, Message, Receipt
from tests.factories import OrganisationFactory, PersonFactory, make_system
from tests.mailbox.api.helpers import basic, letter, stored_memo_names
from tests.mailbox.api.test_send_batch import tar_lzma

pytestmark = pytest.mark.django_db


@pytest.fixture
def sender():
    return OrganisationFactory(name="Kommunen")


@pytest.fixture
def system(sender):
    return make_system(sender)[0]


def _files(sender, count: int) -> list[tuple[str, bytes]]:
    person = PersonFactory()
    return [(f"{n}.xml", letter(sender_cvr=sender.cvr, recipient_id=person.cpr)[1]) for n in range(count)]


def _summaries(batch: Batch) -> list[dict]:
    return list(
        Receipt.objects.filter(kind=Receipt.Kind.BATCH, transmission_id=batch.pk).values_list(
            "details", flat=True
        )
    )


def test_the_answer_comes_before_the_files_are_judged(client, sender):
    system, token = make_system(sender)
    archive = tar_lzma(_files(sender, 3))

    response = client.post(
        "/apis/v1/memos/", data=archive, content_type="application/x-lzma", **basic(system, token)
    )

    assert response.status_code == 201, response.json()
    batch = Batch.objects.get(pk=response.json()["batchId"])
    assert (response.json()["total"], batch.total, batch.sender_system) == (3, 3, system)
    [chunk] = batch.chunks.all()
    assert (chunk.files, chunk.done_at) == (3, None)
    assert default_storage.exists(chunk.file.name)
    assert not Message.objects.exists()  # judged by the chunk's task, after the answer
    assert _summaries(batch) == []


def test_a_large_batch_is_judged_in_chunks_and_summed_up_once(
    sender, system, monkeypatch, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(batches, "CHUNK_FILES", 2)
    files = [*_files(sender, 5), ("broken.xml", b"<not memo")]

    with django_capture_on_commit_callbacks(execute=True):
        batch = batch_accept(system=system, members=iter(files))

    chunks = list(batch.chunks.order_by("position"))
    assert [c.files for c in chunks] == [2, 2, 2]
    assert all(c.done_at is not None for c in chunks)
    assert not any(default_storage.exists(c.file.name) for c in chunks)
    assert Message.objects.count() == 5
    assert _summaries(batch) == [
        {"batchId": str(batch.pk), "total": 6, "received": 5, "duplicates": 0, "notAllowed": 0, "invalid": 1}
    ]
    batch.refresh_from_db()
    assert batch.finished_at is not None
    files_judged = Receipt.objects.filter(kind=Receipt.Kind.TECHNICAL, details__batchId=str(batch.pk))
    assert sorted(files_judged.values_list("details__file", flat=True)) == sorted(name for name, _ in files)


def test_a_member_over_the_limit_is_kept_in_its_place_and_judged_invalid(
    sender, system, django_capture_on_commit_callbacks
):
    files = [*_files(sender, 1), ("huge.xml", None)]
    with django_capture_on_commit_callbacks(execute=True):
        batch = batch_accept(system=system, members=iter(files))
    refused = Receipt.objects.get(details__file="huge.xml")
    assert (refused.status, refused.error_code) == (Receipt.Status.INVALID, "PAYLOAD_TOO_LARGE")
    assert _summaries(batch)[0]["invalid"] == 1


def test_a_chunk_whose_task_runs_twice_is_judged_once(sender, system):
    batch = batch_accept(system=system, members=iter(_files(sender, 3)))  # callbacks not run: no task yet
    chunk = batch.chunks.get()

    assert batch_chunk_send(chunk_id=chunk.pk) == "done"
    assert batch_chunk_send(chunk_id=chunk.pk) == "already done"
    assert batch_chunk_send(chunk_id=10**9) == "gone"

    assert Message.objects.count() == 3
    assert Receipt.objects.filter(kind=Receipt.Kind.TECHNICAL).count() == 3
    assert len(_summaries(batch)) == 1


def test_the_sweep_queues_a_chunk_whose_task_was_lost(sender, system, settings):
    batch = batch_accept(system=system, members=iter(_files(sender, 2)))  # the task never ran
    chunk = batch.chunks.get()
    stuck = timedelta(seconds=settings.DIGITALPOST_STUCK_AFTER_SECONDS)

    assert batches_sweep(now=chunk.queued_at + stuck / 2) == 0  # not stuck yet
    assert not Message.objects.exists()
    assert batches_sweep(now=chunk.queued_at + stuck * 2) == 1  # tasks run eagerly in tests

    chunk.refresh_from_db()
    assert (chunk.done_at is not None, chunk.attempts) == (True, 1)
    assert Message.objects.count() == 2
    assert batches_sweep(now=timezone.now() + stuck * 4) == 0


def test_the_sweep_leaves_a_chunk_a_worker_took_recently(sender, system, settings):
    batch = batch_accept(system=system, members=iter(_files(sender, 1)))
    chunk = batch.chunks.get()
    stuck = timedelta(seconds=settings.DIGITALPOST_STUCK_AFTER_SECONDS)
    later = chunk.queued_at + stuck * 2
    BatchChunk.objects.filter(pk=chunk.pk).update(started_at=later - stuck / 2, attempts=1)

    assert batches_sweep(now=later) == 0  # taken a moment ago: still being judged
    assert batches_sweep(now=later + stuck) == 1  # taken and not finished: its worker died


def test_a_chunk_that_keeps_failing_is_given_up_and_its_files_refused(sender, system, monkeypatch):
    batch = batch_accept(system=system, members=iter(_files(sender, 2)))
    [chunk] = batch.chunks.all()

    def broken(**kwargs):
        raise RuntimeError("storage is down")

    monkeypatch.setattr(batches, "memo_send_many", broken)
    for attempt in range(1, batches.MAX_CHUNK_ATTEMPTS + 1):
        with pytest.raises(RuntimeError):
            batch_chunk_send(chunk_id=chunk.pk)
        chunk.refresh_from_db()
        assert (chunk.attempts, chunk.done_at) == (attempt, None)
    assert not Receipt.objects.exists()

    assert batch_chunk_send(chunk_id=chunk.pk) == "given up"

    refused = Receipt.objects.filter(kind=Receipt.Kind.TECHNICAL).order_by("details__file")
    assert [(r.status, r.error_code, r.details["file"]) for r in refused] == [
        (Receipt.Status.INVALID, "BATCH_PROCESSING_FAILED", "0.xml"),
        (Receipt.Status.INVALID, "BATCH_PROCESSING_FAILED", "1.xml"),
    ]
    [summary] = _summaries(batch)
    assert (summary["total"], summary["received"], summary["invalid"]) == (2, 0, 2)
    assert not Message.objects.exists()


def test_large_files_close_a_chunk_before_it_is_full(sender, system, monkeypatch):
    files = _files(sender, 5)
    monkeypatch.setattr(batches, "CHUNK_BYTES", len(files[0][1]) * 2)
    batch = batch_accept(system=system, members=iter(files))
    assert list(batch.chunks.order_by("position").values_list("files", flat=True)) == [2, 2, 1]


def test_an_archive_broken_part_way_leaves_nothing_behind(sender, system, monkeypatch):
    monkeypatch.setattr(batches, "CHUNK_FILES", 1)
    names = []
    write = batches._chunk_write

    def recorded(*args):
        chunk = write(*args)
        names.append(chunk.file.name)
        return chunk

    monkeypatch.setattr(batches, "_chunk_write", recorded)

    def members():
        yield from _files(sender, 2)
        raise EOFError("Compressed file ended before the end-of-stream marker was reached")

    with pytest.raises(EOFError):
        batch_accept(system=system, members=members())

    assert len(names) == 2 and not any(default_storage.exists(name) for name in names)
    assert not Batch.objects.exists() and not BatchChunk.objects.exists()


def test_a_truncated_upload_is_refused_and_records_nothing(client, sender):
    system, token = make_system(sender)
    archive = tar_lzma(_files(sender, 2))
    response = client.post(
        "/apis/v1/memos/",
        data=archive[: len(archive) // 2],
        content_type="application/x-lzma",
        **basic(system, token),
    )
    assert (response.status_code, response.json()["code"]) == (400, "BATCH_UNREADABLE")
    assert not Batch.objects.exists() and not Message.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_chunks_judged_side_by_side_write_one_summary(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("concurrent chunk workers need PostgreSQL")
    monkeypatch.setattr(batches, "CHUNK_FILES", 2)
    monkeypatch.setattr(batches, "enqueue_after_commit", lambda *args: None)  # the threads judge
    sender = OrganisationFactory()
    system = make_system(sender)[0]
    batch = batch_accept(system=system, members=iter(_files(sender, 8)))
    chunk_ids = list(batch.chunks.values_list("pk", flat=True))
    barrier = threading.Barrier(len(chunk_ids))
    results = []

    def judge(chunk_id):
        barrier.wait()
        try:
            results.append(batch_chunk_send(chunk_id=chunk_id))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=judge, args=(pk,)) for pk in chunk_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert results == ["done"] * 4
    assert Message.objects.count() == 8
    [summary] = _summaries(batch)
    assert (summary["total"], summary["received"]) == (8, 8)


@pytest.mark.django_db(transaction=True)
def test_one_chunk_taken_by_two_workers_at_once_is_judged_once(monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("two workers at once need PostgreSQL")
    monkeypatch.setattr(batches, "enqueue_after_commit", lambda *args: None)
    sender = OrganisationFactory()
    system = make_system(sender)[0]
    chunk = batch_accept(system=system, members=iter(_files(sender, 3))).chunks.get()
    barrier = threading.Barrier(2)
    results = []

    def judge():
        barrier.wait()
        try:
            results.append(batch_chunk_send(chunk_id=chunk.pk))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=judge) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(results) in (["already done", "done"], ["busy", "done"])
    assert Message.objects.count() == 3
    assert Receipt.objects.filter(kind=Receipt.Kind.TECHNICAL).count() == 3


def test_a_chunk_that_fails_after_storing_leaves_no_memo_file_behind(sender, system, monkeypatch):
    batch = batch_accept(system=system, members=iter(_files(sender, 3)))
    chunk = batch.chunks.get()
    before = stored_memo_names()

    def broken(batch):
        raise RuntimeError("the database went away at the end")

    monkeypatch.setattr(batches, "_batch_finish", broken)
    with pytest.raises(RuntimeError):
        batch_chunk_send(chunk_id=chunk.pk)

    assert not Message.objects.exists()
    assert stored_memo_names() == before
    monkeypatch.undo()
    assert batch_chunk_send(chunk_id=chunk.pk) == "done"
    assert len(stored_memo_names() - before) == 3 == Message.objects.count()


@pytest.mark.parametrize("storage", ["database", "files"])
def test_a_failed_chunk_leaves_no_memo_in_either_kind_of_memo_storage(sender, system, monkeypatch, storage):
    """In the database the MeMo go with the rolled-back transaction; in a file or object
    storage (MEMO_STORAGE) the files written for the chunk are removed again."""
    from django.core.files.storage import InMemoryStorage

    memo_files = None
    if storage == "files":
        memo_files = InMemoryStorage()
        monkeypatch.setattr(Message._meta.get_field("memo_file"), "storage", memo_files)
    batch = batch_accept(system=system, members=iter(_files(sender, 3)))
    chunk = batch.chunks.get()
    deleted = []
    if memo_files is not None:
        delete = memo_files.delete
        monkeypatch.setattr(memo_files, "delete", lambda name: deleted.append(name) or delete(name))
    monkeypatch.setattr(batches, "_batch_finish", lambda batch: (_ for _ in ()).throw(RuntimeError("gone")))

    with pytest.raises(RuntimeError):
        batch_chunk_send(chunk_id=chunk.pk)

    assert not Message.objects.exists()
    assert stored_memo_names() == set()
    if memo_files is not None:
        assert len(deleted) == 3
        assert not any(memo_files.exists(name) for name in deleted)
