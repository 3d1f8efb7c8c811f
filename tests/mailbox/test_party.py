"""``MailboxItem.party`` (who a letter is with) and ``MailboxItem.title``, copied onto the item
so a folder sorts by them without reading every message. Every way an item comes to be must
fill them."""

from __future__ import annotations

import importlib
import re
from datetime import UTC, datetime, timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from mailbox.models import Folder, MailboxItem, Message
from mailbox.release import release_due
from mailbox.sending import memo_send
from tests.factories import OrganisationFactory, PersonFactory, make_message, make_system
from tests.mailbox.api.helpers import letter
from tests.mailbox.views.helpers import deliver_letter, logged_in

pytestmark = pytest.mark.django_db

fill_party = importlib.import_module("mailbox.migrations.0009_mailboxitem_party").fill_party
fill_title = importlib.import_module("mailbox.migrations.0011_mailboxitem_title").fill_title


def _titles(response) -> list[str]:
    return re.findall(r'<a href="/post/message/\d+/">([^<]+)</a>', response.content.decode())


def test_a_delivered_letter_is_with_its_sender():
    item = deliver_letter(
        sender=OrganisationFactory(name="Skattestyrelsen"), recipient=PersonFactory(), label="Årsopgørelse"
    )
    item.refresh_from_db()
    assert (item.party, item.title) == ("Skattestyrelsen", "Årsopgørelse")


def test_without_a_sender_name_the_party_is_the_senders_number():
    message = make_message(state=Message.State.DELIVERED, sender_label="")
    item = MailboxItem.objects.get(message=message)
    assert item.party == message.sender_id != ""


def test_mail_released_on_its_value_date_is_with_its_sender():
    sender = OrganisationFactory(name="Udbetaling Danmark")
    system = make_system(sender)[0]
    person = PersonFactory()
    tomorrow = timezone.localdate() + timedelta(days=1)
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=person.cpr, value_date=tomorrow)
    memo_send(data=data, system=system, expected_uuid=message_uuid)
    message = Message.objects.get(message_uuid=message_uuid)

    assert release_due(today=tomorrow) == 1

    item = MailboxItem.objects.get(message=message)
    assert item.party == (message.sender_label or message.sender_id)
    assert item.party != ""
    assert item.title == message.label != ""


def test_a_folder_sorts_by_title_whatever_the_case():
    anna = PersonFactory()
    sender = OrganisationFactory()
    for label in ["bolig", "Affald", "Cykelparkering"]:
        deliver_letter(sender=sender, recipient=anna, label=label)
    client = logged_in(anna)
    assert _titles(client.get("/post/?sort=title")) == ["Affald", "bolig", "Cykelparkering"]
    assert _titles(client.get("/post/?sort=-title")) == ["Cykelparkering", "bolig", "Affald"]


def test_a_folder_sorts_by_party_whatever_the_case_of_the_names():
    anna = PersonFactory()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for n, name in enumerate(["bornholms Regionskommune", "Aarhus Kommune", "Centralt Register"]):
        deliver_letter(
            sender=OrganisationFactory(name=name), recipient=anna, label=name, at=start + timedelta(n)
        )
    client = logged_in(anna)
    expected = ["Aarhus Kommune", "bornholms Regionskommune", "Centralt Register"]
    assert _titles(client.get("/post/?sort=sender")) == expected
    assert _titles(client.get("/post/?sort=-sender")) == expected[::-1]


def test_the_migration_fills_the_party_of_existing_items_from_either_side():
    anna = PersonFactory()
    received = deliver_letter(sender=OrganisationFactory(name="Politiet"), recipient=anna)
    sent_message = make_message(
        state=Message.State.ACCEPTED,
        recipient_label="Byens Kommune",
        recipient_mailbox=None,
        channel=Message.Channel.RECIPIENT_SYSTEM,
        sender_label=anna.name,
    )
    sent = MailboxItem.objects.create(
        mailbox=anna.mailbox,
        message=sent_message,
        folder=Folder.objects.get(mailbox=anna.mailbox, kind=Folder.Kind.SENT),
        party="x",
    )
    MailboxItem.objects.update(party="", title="")

    fill_party(apps, None)
    fill_title(apps, None)

    received.refresh_from_db()
    sent.refresh_from_db()
    assert (received.party, sent.party) == ("Politiet", "Byens Kommune")
    assert (received.title, sent.title) == (received.message.label, sent_message.label)


def test_a_copy_in_a_mailbox_the_letter_was_not_delivered_to_is_with_its_recipient():
    anna = PersonFactory()
    message = make_message(
        state=Message.State.ACCEPTED,
        recipient_label="Byens Kommune",
        recipient_mailbox=None,
        channel=Message.Channel.RECIPIENT_SYSTEM,
        sender_label=anna.name,
    )
    item = MailboxItem.objects.create(
        mailbox=anna.mailbox,
        message=message,
        folder=Folder.objects.get(mailbox=anna.mailbox, kind=Folder.Kind.SENT),
    )
    assert (item.party, item.title) == ("Byens Kommune", message.label)
