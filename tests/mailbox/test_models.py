"""The database refuses mailboxes, messages and their parts that break the rules in mailbox.models."""

import uuid
from datetime import UTC, date, datetime

import pytest
from django.db import IntegrityError, transaction

import mailbox.models
from mailbox.models import (
    Action,
    Document,
    DocumentFile,
    Exemption,
    Folder,
    Mailbox,
    MailboxItem,
    Message,
    Notification,
)
from rights.models import Organisation, Person
from tests.factories import (
    OrganisationFactory,
    PersonFactory,
    constraints_violated_in,
    declared_constraints,
    make_exemption,
    make_message,
    violates,
)

pytestmark = pytest.mark.django_db

NOON = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_every_constraint_in_mailbox_models_has_a_test_here():
    untested = declared_constraints(mailbox.models) - constraints_violated_in(__file__)
    assert sorted(untested) == []


def _letter_from(person: Person, *, to: Organisation, **fields) -> Message:
    """A letter a citizen wrote from their own mailbox to an authority."""
    return make_message(
        sender=to,
        recipient=person,
        sender_organisation=None,
        sender_person=person,
        sender_id_type="CPR",
        sender_id=person.cpr,
        recipient_id_type="CVR",
        recipient_id=to.cvr,
        recipient_mailbox=to.mailbox,
        **fields,
    )


def _document(message: Message, *, position: int, kind=Document.Kind.ADDITIONAL) -> Document:
    return Document.objects.create(
        message=message, kind=kind, position=position, label=f"Document {position}"
    )


def _file(document: Document, *, position: int) -> DocumentFile:
    return DocumentFile.objects.create(
        document=document,
        position=position,
        filename=f"file{position}.pdf",
        mime_type="application/pdf",
        size=3,
        sha256="0" * 64,
    )


# Mailbox


def _parties_without_mailboxes() -> tuple[Person, Organisation]:
    # The services always give a party a mailbox; these rows are made bare on purpose.
    person = Person.objects.create(cpr="0101901234", name="Bare Person")
    organisation = Organisation.objects.create(
        cvr="12345678", name="Bare A/S", kind=Organisation.Kind.COMPANY
    )
    return person, organisation


def test_a_mailbox_cannot_have_no_owner():
    with violates("mailbox_exactly_one_owner", Mailbox):
        Mailbox.objects.create()


def test_a_mailbox_cannot_have_two_owners():
    person, organisation = _parties_without_mailboxes()
    with violates("mailbox_exactly_one_owner", Mailbox):
        Mailbox.objects.create(owner_person=person, owner_organisation=organisation)


def test_a_mailbox_can_belong_to_a_person_or_to_an_organisation():
    person, organisation = _parties_without_mailboxes()
    Mailbox.objects.create(owner_person=person)
    Mailbox.objects.create(owner_organisation=organisation)
    assert Mailbox.objects.get(owner_person=person).owner_identifier == "0101901234"
    assert Mailbox.objects.get(owner_organisation=organisation).owner_identifier == "12345678"


def test_a_party_has_at_most_one_mailbox():
    person = PersonFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        Mailbox.objects.create(owner_person=person)
    assert Mailbox.objects.filter(owner_person=person).count() == 1


def test_a_closed_mailbox_records_when_it_closed():
    mailbox = PersonFactory().mailbox
    mailbox.status = Mailbox.Status.CLOSED
    with violates("mailbox_closed_at_matches_status", Mailbox):
        mailbox.save(update_fields=["status"])
    mailbox.refresh_from_db()
    assert (mailbox.status, mailbox.closed_at) == (Mailbox.Status.ACTIVE, None)


def test_an_active_mailbox_has_no_closing_time():
    mailbox = PersonFactory().mailbox
    mailbox.closed_at = NOON
    with violates("mailbox_closed_at_matches_status", Mailbox):
        mailbox.save(update_fields=["closed_at"])
    mailbox.refresh_from_db()
    assert mailbox.closed_at is None


def test_a_mailbox_closes_with_status_and_time_together():
    mailbox = PersonFactory().mailbox
    mailbox.status, mailbox.closed_at = Mailbox.Status.CLOSED, NOON
    mailbox.save(update_fields=["status", "closed_at"])
    mailbox.refresh_from_db()
    assert (mailbox.status, mailbox.closed_at) == (Mailbox.Status.CLOSED, NOON)


# Exemption


def test_an_exemption_cannot_end_before_it_starts():
    with violates("exemption_period_ordered", Exemption):
        make_exemption(valid_from=date(2025, 3, 2), valid_until=date(2025, 3, 1))


def test_an_exemption_may_last_a_single_day():
    exemption = make_exemption(valid_from=date(2025, 3, 1), valid_until=date(2025, 3, 1))
    assert exemption.covers(date(2025, 3, 1)) is True


def test_a_mailbox_has_one_open_exemption():
    first = make_exemption()
    with violates("exemption_one_open_per_mailbox", Exemption):
        make_exemption(mailbox=first.mailbox, reason="Again")


def test_a_mailbox_may_get_a_new_exemption_once_the_open_one_has_ended():
    first = make_exemption(ended_at=NOON)
    make_exemption(mailbox=first.mailbox, ended_at=NOON)
    make_exemption(mailbox=first.mailbox)
    assert Exemption.objects.filter(mailbox=first.mailbox).count() == 3
    assert Exemption.objects.filter(mailbox=first.mailbox, ended_at__isnull=True).count() == 1


# Exemption.covers: both ends of the period are inclusive; an ended exemption covers nothing.


@pytest.mark.parametrize(
    ("day", "covered"),
    [
        (date(2025, 2, 28), False),
        (date(2025, 3, 1), True),
        (date(2025, 3, 31), True),
        (date(2025, 4, 1), False),
    ],
)
def test_an_exemption_covers_the_days_from_its_first_to_its_last(day, covered):
    exemption = make_exemption(valid_from=date(2025, 3, 1), valid_until=date(2025, 3, 31))
    assert exemption.covers(day) is covered


def test_an_open_ended_exemption_covers_every_day_from_its_start():
    exemption = make_exemption(valid_from=date(2025, 3, 1), valid_until=None)
    assert (exemption.covers(date(2025, 2, 28)), exemption.covers(date(2075, 1, 1))) == (False, True)


def test_an_ended_exemption_covers_nothing():
    exemption = make_exemption(valid_from=date(2025, 3, 1), valid_until=date(2025, 3, 31), ended_at=NOON)
    assert exemption.covers(date(2025, 3, 15)) is False


# Folder


def test_a_mailbox_has_one_folder_of_each_standard_kind():
    mailbox = PersonFactory().mailbox
    with violates("folder_one_of_each_standard_kind", Folder):
        Folder.objects.create(mailbox=mailbox, kind=Folder.Kind.INBOX, name="Second inbox")


def test_a_mailbox_may_have_many_own_folders_and_other_mailboxes_their_own_standard_ones():
    anna, bent = PersonFactory(), PersonFactory()
    Folder.objects.create(mailbox=anna.mailbox, kind=Folder.Kind.CUSTOM, name="Skat")
    Folder.objects.create(mailbox=anna.mailbox, kind=Folder.Kind.CUSTOM, name="Bolig")
    assert Folder.objects.filter(mailbox=anna.mailbox).count() == 6
    assert Folder.objects.filter(mailbox=bent.mailbox, kind=Folder.Kind.INBOX).count() == 1


def test_folder_names_are_unique_within_a_mailbox():
    mailbox = PersonFactory().mailbox
    Folder.objects.create(mailbox=mailbox, kind=Folder.Kind.CUSTOM, name="Skat")
    with violates("folder_name_unique_in_mailbox", Folder):
        Folder.objects.create(mailbox=mailbox, kind=Folder.Kind.CUSTOM, name="Skat")


def test_an_own_folder_cannot_take_a_standard_folders_name():
    mailbox = PersonFactory().mailbox
    with violates("folder_name_unique_in_mailbox", Folder):
        Folder.objects.create(mailbox=mailbox, kind=Folder.Kind.CUSTOM, name="INBOX")


def test_two_mailboxes_may_have_folders_of_the_same_name():
    anna, bent = PersonFactory(), PersonFactory()
    for person in (anna, bent):
        Folder.objects.create(mailbox=person.mailbox, kind=Folder.Kind.CUSTOM, name="Skat")
    assert Folder.objects.filter(name="Skat").count() == 2


# Message


def test_a_message_uuid_is_unique_per_sending_organisation_but_not_across_organisations():
    authority, other, citizen = OrganisationFactory(), OrganisationFactory(), PersonFactory()
    message_uuid = uuid.uuid4()
    make_message(sender=authority, recipient=citizen, message_uuid=message_uuid)
    with violates("message_uuid_unique_per_sending_organisation", Message):
        make_message(sender=authority, recipient=PersonFactory(), message_uuid=message_uuid)
    make_message(sender=other, recipient=citizen, message_uuid=message_uuid)
    assert Message.objects.filter(message_uuid=message_uuid).count() == 2


def test_a_message_uuid_is_unique_per_sending_person_but_not_across_people():
    authority, anna, bent = OrganisationFactory(), PersonFactory(), PersonFactory()
    message_uuid = uuid.uuid4()
    _letter_from(anna, to=authority, message_uuid=message_uuid)
    with violates("message_uuid_unique_per_sending_person", Message):
        _letter_from(anna, to=OrganisationFactory(), message_uuid=message_uuid)
    _letter_from(bent, to=authority, message_uuid=message_uuid)
    assert Message.objects.filter(message_uuid=message_uuid).count() == 2


def test_a_message_has_a_sender():
    with violates("message_has_a_sender", Message):
        make_message(sender_organisation=None, sender_person=None)


def test_mailbox_mail_names_its_mailbox():
    with violates("message_mailbox_channel_has_mailbox", Message):
        make_message(channel=Message.Channel.MAILBOX, recipient_mailbox=None)


def test_remote_print_mail_needs_no_mailbox():
    message = make_message(
        channel=Message.Channel.REMOTE_PRINT, recipient_mailbox=None, state=Message.State.ACCEPTED
    )
    assert Message.objects.get(pk=message.pk).recipient_mailbox is None


def test_a_held_message_has_a_value_date():
    with violates("message_held_only_with_value_date", Message):
        make_message(state=Message.State.HELD, value_date=None)


def test_a_message_with_a_value_date_can_be_held():
    message = make_message(state=Message.State.HELD, value_date=date(2025, 3, 1))
    assert Message.objects.get(pk=message.pk).state == Message.State.HELD


def test_a_delivered_message_records_when():
    with violates("message_delivered_has_time", Message):
        make_message(state=Message.State.DELIVERED, delivered_at=None)


def test_a_recalled_message_records_when():
    message = make_message()
    message.state = Message.State.RECALLED
    with violates("message_recalled_has_time", Message):
        message.save(update_fields=["state"])
    message.refresh_from_db()
    assert message.state == Message.State.DELIVERED


def test_a_message_is_recalled_with_state_and_time_together():
    message = make_message()
    message.state, message.recalled_at = Message.State.RECALLED, NOON
    message.save(update_fields=["state", "recalled_at"])
    message.refresh_from_db()
    assert (message.state, message.recalled_at) == (Message.State.RECALLED, NOON)


# MailboxItem


def test_a_message_sits_in_a_mailbox_at_most_once():
    message = make_message()
    mailbox = message.recipient_mailbox
    bin_folder = Folder.objects.get(mailbox=mailbox, kind=Folder.Kind.BIN)
    with violates("mailboxitem_once_per_mailbox", MailboxItem):
        MailboxItem.objects.create(mailbox=mailbox, message=message, folder=bin_folder)


def test_a_message_may_sit_in_the_senders_and_the_recipients_mailbox():
    authority, citizen = OrganisationFactory(), PersonFactory()
    message = _letter_from(citizen, to=authority)
    sent = Folder.objects.get(mailbox=citizen.mailbox, kind=Folder.Kind.SENT)
    MailboxItem.objects.create(mailbox=citizen.mailbox, message=message, folder=sent)
    assert set(MailboxItem.objects.filter(message=message).values_list("folder__kind", flat=True)) == {
        "INBOX",
        "SENT",
    }


# Document, DocumentFile, Action


def test_two_documents_of_a_message_cannot_share_a_position():
    message = make_message()
    _document(message, position=1, kind=Document.Kind.MAIN)
    with violates("document_position_unique", Document):
        _document(message, position=1)


def test_a_message_has_at_most_one_main_document():
    message = make_message()
    _document(message, position=1, kind=Document.Kind.MAIN)
    with violates("document_one_main_per_message", Document):
        _document(message, position=2, kind=Document.Kind.MAIN)


def test_a_message_may_have_many_attachments_and_another_message_its_own_main_document():
    first, second = make_message(), make_message()
    _document(first, position=1, kind=Document.Kind.MAIN)
    _document(first, position=2)
    _document(first, position=3)
    _document(second, position=1, kind=Document.Kind.MAIN)
    assert Document.objects.filter(kind=Document.Kind.MAIN).count() == 2
    assert Document.objects.filter(message=first).count() == 3


def test_two_files_of_a_document_cannot_share_a_position():
    document = _document(make_message(), position=1, kind=Document.Kind.MAIN)
    _file(document, position=1)
    with violates("documentfile_position_unique", DocumentFile):
        _file(document, position=1)
    _file(document, position=2)
    assert document.files.count() == 2


def test_an_action_has_a_url_or_a_reservation_not_both():
    document = _document(make_message(), position=1, kind=Document.Kind.MAIN)
    with violates("action_url_or_reservation", Action):
        Action.objects.create(
            document=document,
            position=1,
            label="Book",
            action_code="AFTALE",
            url="https://example.dk/book",
            reservation={"startDateTime": "2025-03-01T12:00:00Z"},
        )


def test_an_action_may_have_a_url_or_a_reservation():
    document = _document(make_message(), position=1, kind=Document.Kind.MAIN)
    Action.objects.create(
        document=document, position=1, label="Pay", action_code="BETALING", url="https://example.dk"
    )
    Action.objects.create(
        document=document,
        position=2,
        label="Appointment",
        action_code="AFTALE",
        reservation={"startDateTime": "2025-03-01T12:00:00Z"},
    )
    assert document.actions.count() == 2


# Notification


def test_a_message_is_notified_once_per_channel_and_address():
    message = make_message()
    Notification.objects.create(message=message, channel=Notification.Channel.EMAIL, address="k@example.dk")
    with violates("notification_once_per_channel_and_address", Notification):
        Notification.objects.create(
            message=message, channel=Notification.Channel.EMAIL, address="k@example.dk"
        )


def test_a_message_may_be_notified_on_several_channels_and_addresses():
    message = make_message()
    for channel, address in [
        (Notification.Channel.EMAIL, "k@example.dk"),
        (Notification.Channel.EMAIL, "other@example.dk"),
        (Notification.Channel.SMS, "+4512345678"),
        (Notification.Channel.NEMSMS, "+4512345678"),
    ]:
        Notification.objects.create(message=message, channel=channel, address=address)
    assert message.notifications.count() == 4


def _draft(**fields):
    from mailbox.models import Draft

    person = fields.pop("author", None) or PersonFactory()
    return Draft.objects.create(mailbox=person.mailbox, author=person, **fields)


def test_a_draft_is_to_a_contact_point_or_a_reply_never_both_or_neither():
    from mailbox.models import Draft
    from tests.factories import make_contact_point

    point = make_contact_point()
    letter = make_message()

    with violates("draft_to_a_contact_point_or_a_reply", Draft):
        _draft()
    with violates("draft_to_a_contact_point_or_a_reply", Draft):
        _draft(contact_point=point, reply_to=letter)
    assert _draft(contact_point=point).pk and _draft(reply_to=letter).pk


def test_a_draft_attachment_position_is_unique_in_its_draft():
    from mailbox.models import DraftAttachment
    from tests.factories import make_contact_point

    draft = _draft(contact_point=make_contact_point())
    fields = {"filename": "a.pdf", "mime_type": "application/pdf", "size": 1, "content": "drafts/a.pdf"}
    DraftAttachment.objects.create(draft=draft, position=0, **fields)

    with violates("draftattachment_position_unique", DraftAttachment):
        DraftAttachment.objects.create(draft=draft, position=0, **fields)
    assert DraftAttachment.objects.create(draft=draft, position=1, **fields).pk


def test_a_batch_chunk_position_is_unique_in_its_batch():
    from mailbox.models import Batch, BatchChunk
    from tests.factories import make_system

    batch = Batch.objects.create(sender_system=make_system()[0], total=2)
    BatchChunk.objects.create(batch=batch, position=0, file="batches/a.tar", files=1)

    with violates("batchchunk_position_unique", BatchChunk):
        BatchChunk.objects.create(batch=batch, position=0, file="batches/b.tar", files=1)
    assert BatchChunk.objects.create(batch=batch, position=1, file="batches/b.tar", files=1).pk


def test_a_stored_file_name_is_unique():
    from mailbox.models import StoredFile

    StoredFile.objects.create(name="memo/2026/12/02/a.xml", content=b"<a/>", size=4)

    with violates("storedfile_name_unique", StoredFile):
        StoredFile.objects.create(name="memo/2026/12/02/a.xml", content=b"<b/>", size=4)
    assert StoredFile.objects.create(name="memo/2026/12/02/b.xml", content=b"<b/>", size=4).pk
