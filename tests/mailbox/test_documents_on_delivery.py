"""A letter from the send API gets its documents' rows when it is delivered, from its stored
MeMo; held mail and every other way in store them with the message."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone

from adminaccess.models import System
from mailbox.delivery import delivery_process
from mailbox.models import Action, Delivery, Document, DocumentFile, MailboxItem, Message
from mailbox.sending import SendRefused, memo_send
from mailbox.services import message_documents_build
from mailbox.tasks import release_value_dated
from tests.factories import OrganisationFactory, PersonFactory, make_system
from tests.mailbox.api.helpers import letter

pytestmark = pytest.mark.django_db


def _sent(sender, system, recipient_id, **kwargs) -> Message:
    """Accepted; its delivery task never runs (on_commit callbacks do not run here)."""
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=recipient_id, **kwargs)
    memo_send(data=data, system=system, expected_uuid=message_uuid)
    return Message.objects.get(message_uuid=message_uuid)


def _documents(message: Message) -> list[tuple]:
    return list(
        DocumentFile.objects.filter(document__message=message).values_list(
            "document__kind", "document__label", "filename", "mime_type", "size"
        )
    )


def test_a_letter_gets_its_documents_when_it_is_delivered(sender, sender_system):
    person = PersonFactory()
    message = _sent(sender, sender_system, person.cpr)
    assert message.documents_pending
    assert not Document.objects.filter(message=message).exists()

    assert delivery_process(Delivery.objects.get(message=message).pk) == "delivered"
    message.refresh_from_db()
    assert not message.documents_pending
    assert _documents(message) == [("MAIN", "Brev", "brev.txt", "text/plain", 3)]
    # In the inbox with them: the row is there only after the documents are.
    assert MailboxItem.objects.get(message=message).mailbox == person.mailbox


def test_a_letter_for_a_pull_recipient_system_gets_them_when_it_is_ready_for_fetch(sender, sender_system):
    authority = OrganisationFactory()
    make_system(authority, kind=System.Kind.RECIPIENT, is_default=True)
    message = _sent(sender, sender_system, authority.cvr, recipient_type="CVR")
    assert message.documents_pending
    assert delivery_process(Delivery.objects.get(message=message).pk) == "ready-for-fetch"
    message.refresh_from_db()
    assert not message.documents_pending and len(_documents(message)) == 1


def test_held_mail_is_stored_with_its_documents(sender, sender_system):
    person = PersonFactory()
    value_date = timezone.localdate() + timedelta(days=3)
    message = _sent(sender, sender_system, person.cpr, value_date=value_date)
    assert message.state == Message.State.HELD
    # The release is set-based and builds nothing: the documents come with the message.
    assert not message.documents_pending and len(_documents(message)) == 1
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(timezone, "localdate", lambda *args: value_date)
        assert release_value_dated() == 1
    assert MailboxItem.objects.filter(message=message).exists() and len(_documents(message)) == 1


def test_a_nemsms_has_no_documents_to_build(sender, sender_system):
    person = PersonFactory()
    person.nemsms_mobile = "+4512345678"
    person.save(update_fields=["nemsms_mobile"])
    message = _sent(sender, sender_system, person.cpr, nemsms=True)
    assert message.channel == Message.Channel.NEMSMS and not message.documents_pending
    assert delivery_process(Delivery.objects.get(message=message).pk) == "nemsms-queued"
    assert not Document.objects.filter(message=message).exists()


def test_building_twice_builds_once(sender, sender_system):
    message = _sent(sender, sender_system, PersonFactory().cpr)
    stale = Message.objects.get(pk=message.pk)
    assert message_documents_build(message) is True
    assert message_documents_build(message) is False
    assert stale.documents_pending  # read before the build: the claim sees it is done
    assert message_documents_build(stale) is False
    assert Document.objects.filter(message=message).count() == 1
    assert DocumentFile.objects.filter(document__message=message).count() == 1
    assert not Action.objects.filter(document__message=message).exists()


def test_a_body_value_the_reader_cannot_take_is_refused_at_the_door(sender, sender_system):
    # Legal for the XSD (xs:dateTime may leave out the zone), unreadable for the hub: the body
    # is not built at the door, but its values are read, so the send is refused as before.
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=PersonFactory().cpr)
    stamp = b"<memo:createdDateTime>2026-01-01T00:00:00Z</memo:createdDateTime>"
    assert stamp in data
    data = data.replace(stamp, stamp.replace(b"Z<", b"<"))
    with pytest.raises(SendRefused) as refused:
        memo_send(data=data, system=sender_system, expected_uuid=message_uuid)
    assert (refused.value.status, refused.value.code) == (400, "MEMO_INVALID")
    assert [e.field for e in refused.value.field_errors] == ["/Message/MessageBody/createdDateTime"]
    assert not Message.objects.exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="row locks between workers need PostgreSQL")
@pytest.mark.django_db(transaction=True)
def test_two_workers_building_at_once_store_one_set_of_rows(sender, sender_system, monkeypatch):
    # Here the transaction commits, and the delivery would run at once: it is left out.
    monkeypatch.setattr("mailbox.sending.wake_up_after_commit", lambda *args: None)
    message = _sent(sender, sender_system, PersonFactory().cpr)
    assert message.documents_pending
    building, results = threading.Event(), {}

    def first():
        try:
            with transaction.atomic():  # holds the claim's row lock a while
                results["first"] = message_documents_build(Message.objects.get(pk=message.pk))
                building.set()
                threading.Event().wait(0.5)
        finally:
            building.set()
            connection.close()

    def second():
        building.wait(10)
        try:
            # Read while the first has not committed: still pending, as far as it can see.
            late = Message.objects.get(pk=message.pk)
            results["pending as read"] = late.documents_pending
            results["second"] = message_documents_build(late)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == {"first": True, "pending as read": True, "second": False}
    assert Document.objects.filter(message=message).count() == 1
    assert DocumentFile.objects.filter(document__message=message).count() == 1
