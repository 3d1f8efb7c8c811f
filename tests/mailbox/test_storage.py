"""Stored MeMo in the database: the storage API over StoredFile rows, and the migration that
moved the MeMo of earlier messages there."""

import importlib
from datetime import UTC

import pytest
from django.apps import apps
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

from mailbox.models import Message, StoredFile
from mailbox.storage import DatabaseStorage, memo_storage
from tests.factories import make_message

pytestmark = pytest.mark.django_db


def test_the_memo_storage_is_the_database_by_default():
    assert isinstance(memo_storage(), DatabaseStorage)
    assert isinstance(Message._meta.get_field("memo_file").storage, DatabaseStorage)


def test_a_saved_file_reads_back_with_its_size_and_time():
    storage = DatabaseStorage()
    name = storage.save("memo/2026/12/02/a.xml", ContentFile(b"<memo/>"))

    assert name == "memo/2026/12/02/a.xml"
    assert storage.exists(name)
    assert storage.size(name) == 7
    with storage.open(name, "rb") as stored:
        assert stored.read() == b"<memo/>"
    assert storage.get_modified_time(name).tzinfo == UTC
    assert StoredFile.objects.get(name=name).size == 7


def test_a_taken_name_gets_another_and_both_files_stay():
    storage = DatabaseStorage()
    first = storage.save("memo/x.xml", ContentFile(b"one"))
    second = storage.save("memo/x.xml", ContentFile(b"two"))

    assert first != second
    assert storage.open(first).read() == b"one"
    assert storage.open(second).read() == b"two"


def test_a_file_saved_in_a_rolled_back_transaction_is_gone_with_it():
    storage = DatabaseStorage()
    with pytest.raises(RuntimeError), transaction.atomic():
        storage.save("memo/rolled-back.xml", ContentFile(b"<memo/>"))
        raise RuntimeError("the work failed")

    assert not storage.exists("memo/rolled-back.xml")


def test_missing_files_and_writing_through_open_are_clear_errors():
    storage = DatabaseStorage()
    with pytest.raises(FileNotFoundError):
        storage.open("memo/none.xml")
    with pytest.raises(FileNotFoundError):
        storage.size("memo/none.xml")
    with pytest.raises(FileNotFoundError):
        storage.get_created_time("memo/none.xml")
    with pytest.raises(ValueError, match="save"):
        storage.open("memo/none.xml", "wb")
    with pytest.raises(NotImplementedError):
        storage.path("memo/none.xml")


def test_delete_removes_only_that_file_and_listdir_lists_by_folder():
    storage = DatabaseStorage()
    for name in ("memo/2026/a.xml", "memo/2026/b.xml", "memo/2027/c.xml", "memo/top.xml"):
        storage.save(name, ContentFile(b"x"))

    storage.delete("memo/2026/a.xml")
    storage.delete("memo/never-there.xml")  # deleting a missing file is no error

    assert storage.listdir("memo") == (["2026", "2027"], ["top.xml"])
    assert storage.listdir("memo/2026/") == ([], ["b.xml"])


def test_a_message_memo_is_a_row_and_reads_through_the_field():
    message = make_message(memo_bytes=b"<memo>stored</memo>")

    assert StoredFile.objects.filter(name=message.memo_file.name).exists()
    with Message.objects.get(pk=message.pk).memo_file.open("rb") as stored:
        assert stored.read() == b"<memo>stored</memo>"


def _migration():
    return importlib.import_module("mailbox.migrations.0016_memo_files_in_the_database")


def test_the_migration_copies_earlier_memo_from_the_default_storage_and_keeps_the_rest():
    earlier = make_message(memo_bytes=b"<memo>earlier</memo>")
    already = make_message(memo_bytes=b"<memo>already here</memo>")
    lost = make_message(memo_bytes=b"<memo>lost</memo>")
    # As before the migration: the earlier message's MeMo only in the default storage,
    # the lost one's nowhere.
    StoredFile.objects.filter(name__in=[earlier.memo_file.name, lost.memo_file.name]).delete()
    default_storage.save(earlier.memo_file.name, ContentFile(b"<memo>earlier</memo>"))
    default_storage.save(already.memo_file.name, ContentFile(b"<memo>on disk</memo>"))

    _migration()._to_database(apps, None)

    stored = dict(StoredFile.objects.values_list("name", "content"))
    assert bytes(stored[earlier.memo_file.name]) == b"<memo>earlier</memo>"
    assert bytes(stored[already.memo_file.name]) == b"<memo>already here</memo>"  # not overwritten
    assert lost.memo_file.name not in stored
    default_storage.delete(earlier.memo_file.name)
    default_storage.delete(already.memo_file.name)


def test_the_migration_backwards_puts_memo_in_the_default_storage():
    message = make_message(memo_bytes=b"<memo>back</memo>")

    _migration()._to_default_storage(apps, None)

    with default_storage.open(message.memo_file.name, "rb") as stored:
        assert stored.read() == b"<memo>back</memo>"
    default_storage.delete(message.memo_file.name)


def test_a_memo_the_earlier_release_wrote_to_the_default_storage_is_read_from_there():
    """A process of the release before running during an upgrade writes MeMo to the default
    storage; they are read from there until they are in the database."""
    storage = DatabaseStorage()
    default_storage.save("memo/2026/12/01/earlier.xml", ContentFile(b"<memo>earlier</memo>"))
    try:
        assert storage.exists("memo/2026/12/01/earlier.xml")
        assert storage.size("memo/2026/12/01/earlier.xml") == 20
        with storage.open("memo/2026/12/01/earlier.xml") as stored:
            assert stored.read() == b"<memo>earlier</memo>"
        # A new file of that name does not hide it.
        assert (
            storage.save("memo/2026/12/01/earlier.xml", ContentFile(b"new")) != "memo/2026/12/01/earlier.xml"
        )
    finally:
        default_storage.delete("memo/2026/12/01/earlier.xml")
    assert not storage.exists("memo/2026/12/01/earlier.xml")


def test_database_files_are_not_noted_for_removal_on_failure():
    """They go with the transaction; deleting them again after a rollback would be a query
    on a connection that may be the very thing that failed."""
    from mailbox.storage import removed_on_failure, save

    deleted = []
    storage = DatabaseStorage()
    storage.delete = deleted.append
    with pytest.raises(RuntimeError), transaction.atomic(), removed_on_failure():
        save(storage, "memo/noted.xml", ContentFile(b"x"))
        raise RuntimeError("the work failed")
    assert deleted == []
    assert not StoredFile.objects.filter(name="memo/noted.xml").exists()
