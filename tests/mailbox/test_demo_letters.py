"""The demo letters are real MeMo: valid at both levels, and in the right inboxes."""

from io import StringIO

from django.core.management import call_command

from digitalpost import demo
from mailbox.models import MailboxItem, Message
from memo.validation import validate


def test_every_demo_letter_is_valid_memo(db):
    call_command("seed_demo", stdout=StringIO())
    messages = list(Message.objects.all())
    assert len(messages) == 6
    for message in messages:
        with message.memo_file.open("rb") as f:
            report = validate(f.read())
        assert report.errors == [], message.label


def test_demo_letters_land_in_the_citizen_and_company_inboxes(db):
    call_command("seed_demo", stdout=StringIO())
    citizen_labels = set(
        MailboxItem.objects.filter(mailbox__owner_person__cpr=demo.CITIZEN["cpr"]).values_list(
            "message__label", flat=True
        )
    )
    assert citizen_labels == {
        "Tid til tandpleje",
        "Svar på ansøgning om børnehaveplads",
        "Afgørelse om boligstøtte",
    }
    assert MailboxItem.objects.filter(mailbox__owner_organisation__cvr=demo.COMPANY["cvr"]).count() == 1


def test_the_demo_has_a_letter_held_until_tomorrow_and_one_for_remote_print(db):
    from datetime import timedelta

    from django.utils import timezone

    call_command("seed_demo", stdout=StringIO())
    held = Message.objects.get(label="Påmindelse om sundhedstjek")
    assert (held.state, held.value_date) == (Message.State.HELD, timezone.localdate() + timedelta(days=1))
    printed = Message.objects.get(label="Besked om ændret afhentning af affald")
    assert printed.channel == Message.Channel.REMOTE_PRINT
    assert printed.recipient_id == demo.EXEMPT_CITIZEN["cpr"]
