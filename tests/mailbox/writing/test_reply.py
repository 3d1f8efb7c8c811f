from datetime import UTC, datetime, timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from adminaccess.models import Event
from contactstructure.models import CITIZEN_MAX_BYTES
from mailbox.models import Delivery, Folder, MailboxItem, Message
from memo import parse, validate
from rights.models import MailboxAccess
from tests.factories import CompanyFactory, PersonFactory, make_access, make_contact_point
from tests.mailbox.writing.conftest import act_in
from tests.mailbox.writing.helpers import delivered_letter, recipient_system, writing_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def letter(django_capture_on_commit_callbacks, town, anna, default_system):
    return delivered_letter(
        django_capture_on_commit_callbacks, authority=town, mailbox=anna.mailbox, case_id="C-7"
    )


def url(item) -> str:
    return f"/post/message/{item.pk}/reply/"


def post_reply(client, item, capture, **data):
    data.setdefault("text", "Tak for brevet.")
    data.setdefault("action", "send")
    with capture(execute=True):
        return client.post(url(item), data)


def sent_reply(anna) -> Message:
    return Message.objects.get(sender_person=anna)


def test_the_reply_form_opens_for_a_letter_that_allows_replies(anna_client, letter):
    response = anna_client.get(url(letter))

    assert response.status_code == 200
    assert b'name="csrfmiddlewaretoken"' in response.content
    assert "Din ansøgning" in response.content.decode()


def test_it_sends_a_valid_memo_with_reply_data_pointing_to_the_original(
    anna_client, anna, letter, django_capture_on_commit_callbacks
):
    response = post_reply(anna_client, letter, django_capture_on_commit_callbacks)

    assert response.status_code == 302
    reply = sent_reply(anna)
    with reply.memo_file.open("rb") as f:
        data = f.read()
    assert validate(data).ok, validate(data).errors
    memo = parse(data)
    direct = memo.header.reply_data[0]
    original = letter.message
    assert direct.message_uuid == original.message_uuid
    assert direct.message_id == "SAG-1"
    assert direct.case_id == "C-7"
    assert memo.header.sender.sender_id == anna.cpr
    assert memo.header.sender.id_type == "CPR"
    assert memo.header.sender.representative is None
    assert memo.header.recipient.recipient_id == original.sender_id
    assert memo.body.main_document.files[0].data == b"Tak for brevet."
    assert reply.reply_to == original
    assert reply.sender_person == anna and reply.sender_system is None


def test_it_goes_to_the_default_recipient_system_and_is_delivered_for_pull(
    anna_client, anna, letter, default_system, django_capture_on_commit_callbacks
):
    post_reply(anna_client, letter, django_capture_on_commit_callbacks)

    reply = sent_reply(anna)
    assert reply.channel == Message.Channel.RECIPIENT_SYSTEM
    assert reply.recipient_system == default_system
    delivery = Delivery.objects.get(message=reply)
    assert delivery.recipient_system == default_system
    # The engine ran after commit: the pull system can fetch it now.
    assert delivery.state == Delivery.State.READY_FOR_FETCH
    assert Event.objects.filter(message=reply, tag=Event.Tag.MEMO_SEND_VALIDATED).count() == 1


def test_it_goes_to_the_contact_point_the_letter_names(
    anna_client, anna, town, default_system, django_capture_on_commit_callbacks
):
    social = recipient_system(town, name="Social")
    make_contact_point(town, contact_point_id="social", label="Socialforvaltningen", recipient_system=social)
    item = delivered_letter(
        django_capture_on_commit_callbacks,
        authority=town,
        mailbox=anna.mailbox,
        sender_contact_point="social",
    )

    post_reply(anna_client, item, django_capture_on_commit_callbacks)

    reply = sent_reply(anna)
    assert reply.recipient_system == social
    assert reply.contact_point.contact_point_id == "social"
    with reply.memo_file.open("rb") as f:
        memo = parse(f.read())
    assert memo.header.recipient.contact_point.contact_point_id == "social"
    assert memo.header.reply_data[0].contact_point_id == "social"


def test_it_puts_the_reply_in_the_sent_folder(anna_client, anna, letter, django_capture_on_commit_callbacks):
    post_reply(anna_client, letter, django_capture_on_commit_callbacks)

    item = MailboxItem.objects.get(mailbox=anna.mailbox, message=sent_reply(anna))
    assert item.folder.kind == Folder.Kind.SENT
    assert item.read_at is not None


def test_sending_the_same_form_twice_sends_one_reply(
    anna_client, anna, letter, django_capture_on_commit_callbacks
):
    form_uuid = "7c0b5a56-8a55-4c43-9a3c-6a8c1f9e2b11"
    post_reply(anna_client, letter, django_capture_on_commit_callbacks, message_uuid=form_uuid)
    response = post_reply(anna_client, letter, django_capture_on_commit_callbacks, message_uuid=form_uuid)

    assert response.status_code == 302
    assert Message.objects.filter(sender_person=anna).count() == 1


def test_a_representative_with_read_write_access_replies_on_the_owners_behalf(
    client, anna, letter, django_capture_on_commit_callbacks
):
    helper = PersonFactory(name="Hjælper")
    make_access(mailbox=anna.mailbox, grantee=helper, level=MailboxAccess.Level.READ_WRITE)
    client.force_login(helper.user)
    act_in(client, anna.mailbox)

    response = post_reply(client, letter, django_capture_on_commit_callbacks)

    assert response.status_code == 302
    reply = sent_reply(anna)
    assert reply.sent_by_representative == helper
    with reply.memo_file.open("rb") as f:
        memo = parse(f.read())
    assert memo.header.sender.sender_id == anna.cpr
    assert memo.header.sender.representative.representative_id == helper.cpr
    assert MailboxItem.objects.get(message=reply).mailbox == anna.mailbox


def test_a_company_employee_replies_as_the_company(
    client, town, default_system, django_capture_on_commit_callbacks
):
    company = CompanyFactory(name="Firma ApS")
    employee = PersonFactory()
    make_access(
        mailbox=company.mailbox,
        grantee=employee,
        level=MailboxAccess.Level.READ_WRITE,
        kind=MailboxAccess.Kind.EMPLOYEE,
    )
    item = delivered_letter(django_capture_on_commit_callbacks, authority=town, mailbox=company.mailbox)
    client.force_login(employee.user)
    act_in(client, company.mailbox)

    post_reply(client, item, django_capture_on_commit_callbacks)

    reply = Message.objects.get(sender_organisation=company)
    assert reply.sender_id_type == "CVR" and reply.sender_id == company.cvr
    assert reply.sent_by_representative == employee


def test_it_refuses_a_letter_that_does_not_allow_replies(
    anna_client, anna, town, default_system, django_capture_on_commit_callbacks
):
    item = delivered_letter(
        django_capture_on_commit_callbacks, authority=town, mailbox=anna.mailbox, reply=False
    )
    before = writing_rows()

    assert anna_client.get(url(item)).status_code == 403
    response = post_reply(anna_client, item, django_capture_on_commit_callbacks)

    assert response.status_code == 403
    assert "does not accept replies" in response.content.decode()
    assert writing_rows() == before


def test_it_refuses_after_the_reply_deadline(
    anna_client, anna, town, default_system, django_capture_on_commit_callbacks
):
    item = delivered_letter(
        django_capture_on_commit_callbacks,
        authority=town,
        mailbox=anna.mailbox,
        reply_by=datetime.now(UTC) - timedelta(days=1),
    )
    before = writing_rows()

    response = post_reply(anna_client, item, django_capture_on_commit_callbacks)

    assert response.status_code == 403
    assert writing_rows() == before


def test_it_refuses_a_read_only_representative(client, anna, letter, django_capture_on_commit_callbacks):
    reader = PersonFactory()
    make_access(mailbox=anna.mailbox, grantee=reader, level=MailboxAccess.Level.READ)
    client.force_login(reader.user)
    act_in(client, anna.mailbox)
    before = writing_rows()

    assert client.get(url(letter)).status_code == 403
    assert post_reply(client, letter, django_capture_on_commit_callbacks).status_code == 403
    assert post_reply(client, letter, django_capture_on_commit_callbacks, action="draft").status_code == 403
    assert writing_rows() == before


def test_it_refuses_an_attachment_over_the_citizen_limit(
    anna_client, letter, django_capture_on_commit_callbacks
):
    big = SimpleUploadedFile("stor.pdf", b"%PDF" + b"0" * CITIZEN_MAX_BYTES, content_type="application/pdf")
    before = writing_rows()

    response = post_reply(anna_client, letter, django_capture_on_commit_callbacks, attachments=[big])

    assert response.status_code == 400
    body = response.content.decode()
    assert 'id="id_attachments-error1"' in body
    assert "at most 10.0 MB" in body
    assert writing_rows() == before


def test_it_refuses_more_than_ten_attachments(anna_client, letter, django_capture_on_commit_callbacks):
    files = [SimpleUploadedFile(f"b{n}.pdf", b"%PDF-1.4", content_type="application/pdf") for n in range(11)]
    before = writing_rows()

    response = post_reply(anna_client, letter, django_capture_on_commit_callbacks, attachments=files)

    assert response.status_code == 400
    assert "at most 10 files; you attached 11" in response.content.decode()
    assert writing_rows() == before


def test_it_refuses_a_file_type_digital_post_does_not_carry(
    anna_client, letter, django_capture_on_commit_callbacks
):
    exe = SimpleUploadedFile("program.exe", b"MZ", content_type="application/octet-stream")
    before = writing_rows()

    response = post_reply(anna_client, letter, django_capture_on_commit_callbacks, attachments=[exe])

    assert response.status_code == 400
    assert "program.exe cannot be sent" in response.content.decode()
    assert writing_rows() == before


def test_it_sends_attachments_as_additional_documents(
    anna_client, anna, letter, django_capture_on_commit_callbacks
):
    pdf = SimpleUploadedFile("bilag.pdf", b"%PDF-1.4 bilag", content_type="application/pdf")

    post_reply(anna_client, letter, django_capture_on_commit_callbacks, attachments=[pdf])

    with sent_reply(anna).memo_file.open("rb") as f:
        memo = parse(f.read())
    [attachment] = memo.body.additional_documents
    assert attachment.files[0].filename == "bilag.pdf"
    assert attachment.files[0].encoding_format == "application/pdf"
    assert attachment.files[0].data == b"%PDF-1.4 bilag"


def test_it_refuses_an_empty_text(anna_client, letter, django_capture_on_commit_callbacks):
    before = writing_rows()

    response = post_reply(anna_client, letter, django_capture_on_commit_callbacks, text="   ")

    assert response.status_code == 400
    assert 'id="id_text-error1"' in response.content.decode()
    assert writing_rows() == before


def test_an_item_of_another_mailbox_is_not_found(client, letter, django_capture_on_commit_callbacks):
    other = PersonFactory()
    client.force_login(other.user)
    before = writing_rows()

    assert client.get(url(letter)).status_code == 404
    assert post_reply(client, letter, django_capture_on_commit_callbacks).status_code == 404
    assert writing_rows() == before


def test_without_an_active_recipient_system_it_says_so_and_sends_nothing(
    anna_client, letter, default_system, django_capture_on_commit_callbacks
):
    type(default_system).objects.filter(pk=default_system.pk).update(
        status="DEACTIVATED", deactivated_at=timezone.now()
    )
    before = writing_rows()

    response = post_reply(anna_client, letter, django_capture_on_commit_callbacks)

    assert response.status_code == 400
    assert "has no active recipient system" in response.content.decode()
    assert writing_rows() == before


def test_it_needs_a_login(client, letter):
    response = client.get(url(letter))

    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_the_reply_form_does_not_warn_when_the_default_system_is_active(anna_client, letter):
    assert "cannot receive messages right now" not in anna_client.get(url(letter)).content.decode()


def test_the_reply_form_warns_when_the_authority_cannot_receive(anna_client, letter, default_system):
    type(default_system).objects.filter(pk=default_system.pk).update(
        status="DEACTIVATED", deactivated_at=timezone.now()
    )

    assert "cannot receive messages right now" in anna_client.get(url(letter)).content.decode()
