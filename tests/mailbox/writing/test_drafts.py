import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile

from mailbox.models import Draft, DraftAttachment, Message
from memo import parse
from rights.models import MailboxAccess
from tests.factories import PersonFactory, make_access, make_contact_point
from tests.mailbox.writing.conftest import act_in
from tests.mailbox.writing.helpers import delivered_letter, writing_rows

pytestmark = pytest.mark.django_db


@pytest.fixture
def point(town):
    return make_contact_point(town, label="Borgerservice", field1_label="Sagsnummer", field1_required=True)


def write_url(point) -> str:
    return f"/post/write/{point.deep_link_key}/"


def save_draft(client, point, **data):
    data.setdefault("title", "Udkast")
    data.setdefault("text", "Halvt færdig")
    return client.post(write_url(point), {"action": "draft", **data})


def test_saving_keeps_an_incomplete_letter_with_its_attachment(anna_client, anna, point):
    pdf = SimpleUploadedFile("bilag.pdf", b"%PDF-1.4", content_type="application/pdf")

    response = save_draft(anna_client, point, attachments=[pdf])

    draft = Draft.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"{write_url(point)}?draft={draft.pk}"
    assert (draft.mailbox, draft.author, draft.contact_point) == (anna.mailbox, anna, point)
    assert (draft.label, draft.text, draft.field1) == ("Udkast", "Halvt færdig", "")
    [attachment] = draft.attachments.all()
    assert attachment.filename == "bilag.pdf"
    assert default_storage.open(attachment.content.name).read() == b"%PDF-1.4"
    assert Message.objects.count() == 0


def test_drafts_are_listed_and_reopen_in_their_form(anna_client, point):
    save_draft(anna_client, point, title="Mit udkast")
    draft = Draft.objects.get()

    listing = anna_client.get("/post/drafts/").content.decode()
    reopened = anna_client.get(f"/post/drafts/{draft.pk}/", follow=True)

    assert "Mit udkast" in listing
    assert reopened.status_code == 200
    assert 'value="Mit udkast"' in reopened.content.decode()
    assert f'name="draft" value="{draft.pk}"' in reopened.content.decode()


def test_saving_again_updates_the_draft_and_can_remove_an_attachment(anna_client, point):
    pdf = SimpleUploadedFile("bilag.pdf", b"%PDF-1.4", content_type="application/pdf")
    save_draft(anna_client, point, attachments=[pdf])
    draft = Draft.objects.get()
    attachment = draft.attachments.get()

    save_draft(anna_client, point, draft=draft.pk, title="Nyt", remove_attachment=[attachment.pk])

    draft.refresh_from_db()
    assert draft.label == "Nyt"
    assert Draft.objects.count() == 1
    assert DraftAttachment.objects.count() == 0


def test_sending_a_draft_sends_its_attachments_and_deletes_it(
    anna_client, anna, point, default_system, django_capture_on_commit_callbacks
):
    pdf = SimpleUploadedFile("bilag.pdf", b"%PDF-1.4 gemt", content_type="application/pdf")
    save_draft(anna_client, point, attachments=[pdf])
    draft = Draft.objects.get()
    stored = draft.attachments.get().content.name

    with django_capture_on_commit_callbacks(execute=True):
        response = anna_client.post(
            write_url(point),
            {"action": "send", "draft": draft.pk, "title": "Færdig", "text": "Nu", "field1": "S-1"},
        )

    assert response.status_code == 302
    message = Message.objects.get(sender_person=anna)
    assert message.message_uuid == draft.message_uuid
    with message.memo_file.open("rb") as f:
        memo = parse(f.read())
    assert memo.body.additional_documents[0].files[0].data == b"%PDF-1.4 gemt"
    assert Draft.objects.count() == 0 and DraftAttachment.objects.count() == 0
    assert not default_storage.exists(stored)


def test_a_refused_send_keeps_the_draft(
    anna_client, point, default_system, django_capture_on_commit_callbacks
):
    save_draft(anna_client, point)
    draft = Draft.objects.get()
    before = writing_rows()

    with django_capture_on_commit_callbacks(execute=True):
        response = anna_client.post(
            write_url(point), {"action": "send", "draft": draft.pk, "title": "T", "text": "x", "field1": ""}
        )

    assert response.status_code == 400
    assert writing_rows() == before


def test_a_reply_can_be_saved_as_a_draft_and_sent_later(
    anna_client, anna, town, default_system, django_capture_on_commit_callbacks
):
    item = delivered_letter(django_capture_on_commit_callbacks, authority=town, mailbox=anna.mailbox)
    reply_url = f"/post/message/{item.pk}/reply/"

    anna_client.post(reply_url, {"action": "draft", "text": "Jeg svarer senere"})
    draft = Draft.objects.get()
    reopened = anna_client.get(f"/post/drafts/{draft.pk}/")
    with django_capture_on_commit_callbacks(execute=True):
        anna_client.post(reply_url, {"action": "send", "draft": draft.pk, "text": "Her er mit svar"})

    assert draft.reply_to == item.message
    assert reopened["Location"] == f"{reply_url}?draft={draft.pk}"
    assert Message.objects.get(sender_person=anna).reply_to == item.message
    assert Draft.objects.count() == 0


def test_others_cannot_see_or_use_your_drafts(client, anna_client, anna, point):
    save_draft(anna_client, point, title="Hemmeligt")
    draft = Draft.objects.get()
    other = PersonFactory()
    client.force_login(other.user)
    before = writing_rows()

    assert "Hemmeligt" not in client.get("/post/drafts/").content.decode()
    assert client.get(f"/post/drafts/{draft.pk}/").status_code == 404
    assert client.get(f"{write_url(point)}?draft={draft.pk}").status_code == 404
    assert client.post(f"/post/drafts/{draft.pk}/delete/").status_code == 404
    assert save_draft(client, point, draft=draft.pk).status_code == 404
    assert writing_rows() == before


def test_a_representative_does_not_see_the_owners_drafts(client, anna_client, anna, point):
    save_draft(anna_client, point, title="Annas udkast")
    helper = PersonFactory()
    make_access(mailbox=anna.mailbox, grantee=helper, level=MailboxAccess.Level.READ_WRITE)
    client.force_login(helper.user)
    act_in(client, anna.mailbox)

    assert "Annas udkast" not in client.get("/post/drafts/").content.decode()


def test_deleting_a_draft_removes_it_and_its_files(anna_client, point, django_capture_on_commit_callbacks):
    pdf = SimpleUploadedFile("bilag.pdf", b"%PDF-1.4", content_type="application/pdf")
    save_draft(anna_client, point, attachments=[pdf])
    draft = Draft.objects.get()
    stored = draft.attachments.get().content.name

    with_get = anna_client.get(f"/post/drafts/{draft.pk}/delete/")
    with django_capture_on_commit_callbacks(execute=True):
        response = anna_client.post(f"/post/drafts/{draft.pk}/delete/")

    assert with_get.status_code == 405
    assert response.status_code == 302
    assert Draft.objects.count() == 0
    assert not default_storage.exists(stored)


def test_a_draft_with_too_many_attachments_is_refused(anna_client, town):
    small = make_contact_point(town, label="Lille", max_attachments=1)
    files = [SimpleUploadedFile(f"{n}.pdf", b"%PDF-1.4", content_type="application/pdf") for n in range(2)]
    before = writing_rows()

    response = save_draft(anna_client, small, attachments=files)

    assert response.status_code == 400
    assert writing_rows() == before


def test_a_second_click_on_send_for_a_draft_sends_one_letter(
    anna_client, anna, point, default_system, django_capture_on_commit_callbacks
):
    save_draft(anna_client, point)
    draft = Draft.objects.get()
    data = {
        "action": "send",
        "draft": draft.pk,
        "message_uuid": str(draft.message_uuid),
        "title": "Færdig",
        "text": "Nu",
        "field1": "S-1",
    }

    with django_capture_on_commit_callbacks(execute=True):
        first = anna_client.post(write_url(point), data)
        second = anna_client.post(write_url(point), data)

    assert first.status_code == second.status_code == 302
    assert second["Location"] == first["Location"]
    assert Message.objects.filter(sender_person=anna).count() == 1
