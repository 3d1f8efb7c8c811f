"""A real sender's MeMo: built with python-serviceplatformen, the public library Danish
municipalities use for Digital Post, then posted to the hub as a sender system would."""

from __future__ import annotations

import base64
import uuid

import pytest

from adminaccess.models import System
from mailbox.models import MailboxItem, Message
from tests.factories import OrganisationFactory, PersonFactory, make_contact_point, make_system
from tests.mailbox.api.helpers import send

sp = pytest.importorskip(
    "python_serviceplatformen.models.message", reason="python-serviceplatformen is not installed"
)
xml_util = pytest.importorskip("python_serviceplatformen.models.xml_util")

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


@pytest.fixture
def sender():
    return OrganisationFactory(name="Aarhus Kommune")


@pytest.fixture
def sender_system(sender):
    return make_system(sender)


def _post(client, sender_system, message):
    body = xml_util.dataclass_to_xml_string(message).encode()
    return send(client, *sender_system, body, message.messageHeader.messageUUID)


def _received(response) -> uuid.UUID:
    assert response.status_code == 201, response.json()
    assert response.json()["receiptStatus"] == "RECEIVED", response.json()
    return uuid.UUID(response.json()["messageUUID"])


def test_a_letter_from_python_serviceplatformen_reaches_the_inbox(
    client, sender, sender_system, django_capture_on_commit_callbacks
):
    person = PersonFactory()
    message = sp.create_digital_post_with_main_document(
        label="Afgørelse om boligstøtte",
        sender=sp.Sender(senderID=sender.cvr, idType="CVR", label=sender.name),
        recipient=sp.Recipient(recipientID=person.cpr, idType="CPR"),
        files=(
            sp.File(
                encodingFormat="application/pdf",
                filename="afgoerelse.pdf",
                language="da",
                content=base64.b64encode(PDF).decode(),
            ),
        ),
    )
    with django_capture_on_commit_callbacks(execute=True):
        message_uuid = _received(_post(client, sender_system, message))
    stored = Message.objects.get(message_uuid=message_uuid)
    assert (stored.label, stored.state) == ("Afgørelse om boligstøtte", Message.State.DELIVERED)
    assert MailboxItem.objects.get(message=stored).mailbox == person.mailbox
    [document] = stored.documents.all()
    [file] = document.files.all()
    assert (file.filename, file.mime_type, file.size) == ("afgoerelse.pdf", "application/pdf", len(PDF))


def test_a_nemsms_from_python_serviceplatformen_is_received(client, sender, sender_system):
    person = PersonFactory()
    person.nemsms_mobile = "+4512345678"
    person.save(update_fields=["nemsms_mobile"])
    message = sp.create_nemsms(
        message_label="Påmindelse",
        message_text="Husk din tid hos tandlægen i morgen kl. 10.",
        sender=sp.Sender(senderID=sender.cvr, idType="CVR", label=sender.name),
        recipient=sp.Recipient(recipientID=person.cpr, idType="CPR"),
    )
    message_uuid = _received(_post(client, sender_system, message))
    assert Message.objects.get(message_uuid=message_uuid).channel == Message.Channel.NEMSMS


def test_a_letter_to_an_authoritys_contact_point_is_routed(client, sender, sender_system):
    authority = OrganisationFactory(name="Udbetaling Danmark")
    case_system, _ = make_system(authority, kind=System.Kind.RECIPIENT)
    point = make_contact_point(authority, recipient_system=case_system)
    message = sp.create_digital_post_with_main_document(
        label="Oplysninger i sagen",
        sender=sp.Sender(senderID=sender.cvr, idType="CVR", label=sender.name),
        recipient=sp.Recipient(
            recipientID=authority.cvr,
            idType="CVR",
            contactPoint=sp.ContactPoint(
                contactGroup=None, contactPointID=point.contact_point_id, label="Pension"
            ),
        ),
        files=(
            sp.File(
                encodingFormat="text/plain",
                filename="oplysninger.txt",
                language="da",
                content=base64.b64encode("Se vedhæftede.".encode()).decode(),
            ),
        ),
    )
    message_uuid = _received(_post(client, sender_system, message))
    stored = Message.objects.get(message_uuid=message_uuid)
    assert (stored.recipient_system, stored.contact_point) == (case_system, point)
