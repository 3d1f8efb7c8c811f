"""An exempt citizen's letter goes through the engine to the print provider's folder."""

import json

import pytest
from pypdf import PdfReader

from adminaccess.models import Event
from mailbox.models import Delivery, Exemption, MailboxItem, Message
from mailbox.sending import memo_send
from mailbox.tasks import export_print_jobs
from tests.factories import OrganisationFactory, PersonFactory, make_system
from tests.mailbox.api.helpers import letter

pytestmark = pytest.mark.django_db


def test_an_exempt_citizens_letter_lands_in_the_print_folder_as_a_pdf(
    settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.DIGITALPOST_PRINT_FOLDER = tmp_path
    sender = OrganisationFactory(name="Kommunen")
    system = make_system(sender)[0]
    person = PersonFactory(name="Carla Christensen")
    Exemption.objects.create(
        mailbox=person.mailbox, reason="No digital access", print_address="Carla\nVej 3\n7100 Vejle"
    )
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=person.cpr)
    with django_capture_on_commit_callbacks(execute=True):
        memo_send(data=data, system=system, expected_uuid=message_uuid)
    message = Message.objects.get(message_uuid=message_uuid)
    assert message.channel == Message.Channel.REMOTE_PRINT
    assert Delivery.objects.get(message=message).state == Delivery.State.DONE
    assert export_print_jobs() == 1
    [batch] = [p for p in tmp_path.iterdir() if not p.name.startswith(".")]
    pdf = batch / f"{message_uuid}.pdf"
    assert pdf.is_file()
    assert "7100 Vejle" in PdfReader(pdf).pages[0].extract_text()
    manifest = json.loads((batch / "manifest.json").read_text())
    assert [entry["messageUUID"] for entry in manifest["jobs"]] == [str(message_uuid)]
    message.refresh_from_db()
    assert message.state == Message.State.DELIVERED
    assert not MailboxItem.objects.filter(message=message).exists()
    assert Event.objects.filter(message=message, tag=Event.Tag.PHYSICAL_LETTER_SENT).count() == 1
    assert export_print_jobs() == 0


def test_mandatory_post_from_a_sender_who_may_send_it_reaches_the_exempt_inbox(
    django_capture_on_commit_callbacks,
):
    sender = OrganisationFactory(name="Kommunen", may_send_mandatory_post=True)
    system = make_system(sender)[0]
    person = PersonFactory()
    Exemption.objects.create(mailbox=person.mailbox, reason="No digital access")
    message_uuid, data = letter(sender_cvr=sender.cvr, recipient_id=person.cpr, mandatory=True)
    with django_capture_on_commit_callbacks(execute=True):
        memo_send(data=data, system=system, expected_uuid=message_uuid)
    message = Message.objects.get(message_uuid=message_uuid)
    assert message.channel == Message.Channel.MAILBOX
    assert MailboxItem.objects.filter(message=message, mailbox=person.mailbox).count() == 1
