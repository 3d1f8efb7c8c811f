"""What a reader does: open, flag, move, bin and restore, own folders; events and .ics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone
from icalendar import Calendar

from adminaccess.models import Event
from mailbox.models import Folder, MailboxItem
from tests.factories import OrganisationFactory, PersonFactory
from tests.mailbox.views.helpers import (
    APPOINTMENT_START,
    appointment,
    deliver_letter,
    folder,
    html_file,
    logged_in,
    pdf_file,
    post,
    self_service,
    text_file,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def authority():
    return OrganisationFactory(name="Aarhus Kommune")


@pytest.fixture
def anna():
    return PersonFactory(name="Anna Andersen")


def test_opening_a_letter_marks_it_read(authority, anna):
    item = deliver_letter(sender=authority, recipient=anna, label="Brev")
    response = logged_in(anna).get(f"/post/message/{item.pk}/")
    assert response.status_code == 200
    item.refresh_from_db()
    assert item.read_at is not None


def test_a_legal_notification_records_its_first_reading_once(authority, anna):
    item = deliver_letter(sender=authority, recipient=anna, label="Afgørelse", legal=True)
    client = logged_in(anna)
    client.get(f"/post/message/{item.pk}/")
    item.refresh_from_db()
    first = item.legal_notification_read_at
    assert first is not None
    client.get(f"/post/message/{item.pk}/")
    item.refresh_from_db()
    assert item.legal_notification_read_at == first
    events = Event.objects.filter(tag=Event.Tag.LEGAL_NOTIFICATION_READ)
    assert [(e.message_id, e.mailbox_id, e.actor_person_id) for e in events] == [
        (item.message_id, anna.mailbox.pk, anna.pk)
    ]


def test_the_message_page_shows_deadline_badges_documents_and_actions(authority, anna):
    reply_by = datetime(2031, 5, 6, 12, 0, tzinfo=UTC)
    item = deliver_letter(
        sender=authority,
        recipient=anna,
        label="Tilbud",
        files=[pdf_file("Tilbud om plads"), text_file("Praktisk")],
        actions=[appointment(), self_service(end=datetime(2031, 5, 1, 12, 0, tzinfo=UTC))],
        reply=True,
        reply_by=reply_by,
        mandatory=True,
        legal=True,
    )
    page = logged_in(anna).get(f"/post/message/{item.pk}/").content.decode()
    assert "Reply by 6 May 2031" in page or "Reply by 6 maj 2031" in page
    assert "Mandatory post" in page and "Legal notification" in page
    assert "brev.pdf" in page and "note.txt" in page
    assert 'href="https://selvbetjening.example.dk/svar"' in page
    assert f"/post/message/{item.pk}/appointment/" in page
    assert f'href="/post/message/{item.pk}/reply/"' in page


def test_the_reply_button_needs_reply_allowed(authority, anna):
    item = deliver_letter(sender=authority, recipient=anna, label="Info", reply=False)
    page = logged_in(anna).get(f"/post/message/{item.pk}/").content.decode()
    assert "/reply/" not in page


def test_a_javascript_link_from_a_sender_is_not_made_a_link(authority, anna):
    item = deliver_letter(sender=authority, recipient=anna, actions=[self_service()])
    from mailbox.models import Action

    Action.objects.filter(document__message=item.message).update(url="javascript:alert(1)")
    page = logged_in(anna).get(f"/post/message/{item.pk}/").content.decode()
    assert "javascript:alert" not in page


def test_the_appointment_is_an_ics_file(authority, anna):
    item = deliver_letter(sender=authority, recipient=anna, actions=[appointment()])
    action = item.message.documents.get(kind="MAIN").actions.get()
    response = logged_in(anna).get(f"/post/message/{item.pk}/appointment/{action.pk}.ics")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment;")
    [event] = Calendar.from_ical(response.content).walk("VEVENT")
    assert str(event["uid"]) == "8a5f0e7e-9d3c-4a53-9a57-0d3f1c2b3a4d@digitalpost"
    assert event.decoded("dtstart") == APPOINTMENT_START
    assert event.decoded("dtend") == APPOINTMENT_START + timedelta(minutes=30)
    assert str(event["summary"]) == "Tandeftersyn"
    assert str(event["location"]) == "Tandklinikken, Skolevej 3, 8000 Aarhus C"
    assert str(event["organizer"]) == "mailto:tandpleje@kommune.example.dk"
    assert event["organizer"].params["cn"] == "Aarhus Kommune"


def test_an_action_without_a_reservation_has_no_ics(authority, anna):
    item = deliver_letter(sender=authority, recipient=anna, actions=[self_service()])
    action = item.message.documents.get(kind="MAIN").actions.get()
    assert logged_in(anna).get(f"/post/message/{item.pk}/appointment/{action.pk}.ics").status_code == 404


def test_documents_open_inline_safely_and_download(authority, anna):
    item = deliver_letter(
        sender=authority,
        recipient=anna,
        files=[html_file("<p>Hej</p><script>alert(1)</script>"), pdf_file("PDF tekst")],
    )
    html, pdf = [d.files.get() for d in item.message.documents.order_by("position")]
    client = logged_in(anna)
    shown = client.get(f"/post/message/{item.pk}/file/{html.pk}/")
    assert shown["Content-Type"] == "text/html; charset=utf-8"
    assert shown["Content-Security-Policy"] == "sandbox"
    assert shown["X-Content-Type-Options"] == "nosniff"
    assert shown["Content-Disposition"] == 'inline; filename="brev.html"'
    assert shown.content == b"<p>Hej</p><script>alert(1)</script>"
    downloaded = client.get(f"/post/message/{item.pk}/file/{pdf.pk}/?download=1")
    assert downloaded["Content-Disposition"] == 'attachment; filename="brev.pdf"'
    assert downloaded.content.startswith(b"%PDF")


def test_a_file_type_a_browser_should_not_show_is_always_downloaded(authority, anna):
    from memo import model as m

    odd = m.File.from_bytes(b"<svg/>", filename="x.svg", encoding_format="image/svg+xml")
    item = deliver_letter(sender=authority, recipient=anna, files=[odd])
    file = item.message.documents.get().files.get()
    response = logged_in(anna).get(f"/post/message/{item.pk}/file/{file.pk}/")
    assert response["Content-Disposition"] == 'attachment; filename="x.svg"'
    assert response["X-Content-Type-Options"] == "nosniff"


def test_flag_toggles_with_htmx_and_without(authority, anna):
    item = deliver_letter(sender=authority, recipient=anna)
    client = logged_in(anna)
    response = post(client, f"/post/message/{item.pk}/flag/", {"flagged": "1"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    assert 'aria-pressed="true"' in response.content.decode()
    assert MailboxItem.objects.get(pk=item.pk).flagged is True
    response = post(client, f"/post/message/{item.pk}/flag/", {"flagged": "0", "next": "/post/"})
    assert (response.status_code, response["Location"]) == (302, "/post/")
    assert MailboxItem.objects.get(pk=item.pk).flagged is False


def test_flag_never_redirects_to_another_site(authority, anna):
    item = deliver_letter(sender=authority, recipient=anna)
    response = post(
        logged_in(anna), f"/post/message/{item.pk}/flag/", {"flagged": "1", "next": "https://evil.example/"}
    )
    assert response["Location"] == f"/post/message/{item.pk}/"


def test_mark_unread(authority, anna):
    item = deliver_letter(sender=authority, recipient=anna)
    client = logged_in(anna)
    client.get(f"/post/message/{item.pk}/")
    post(client, f"/post/message/{item.pk}/unread/")
    assert MailboxItem.objects.get(pk=item.pk).read_at is None


def test_move_to_an_own_folder_and_not_to_sent(authority, anna):
    item = deliver_letter(sender=authority, recipient=anna)
    own = Folder.objects.create(mailbox=anna.mailbox, kind=Folder.Kind.CUSTOM, name="Skat")
    client = logged_in(anna)
    post(client, f"/post/message/{item.pk}/move/", {"folder": folder(anna.mailbox, "SENT").pk})
    assert MailboxItem.objects.get(pk=item.pk).folder.kind == Folder.Kind.INBOX
    post(client, f"/post/message/{item.pk}/move/", {"folder": own.pk})
    assert MailboxItem.objects.get(pk=item.pk).folder == own
    assert "Et brev" in client.get(f"/post/folder/{own.pk}/").content.decode()


def test_delete_remembers_the_folder_and_restore_goes_back(authority, anna):
    item = deliver_letter(sender=authority, recipient=anna)
    own = Folder.objects.create(mailbox=anna.mailbox, kind=Folder.Kind.CUSTOM, name="Skat")
    MailboxItem.objects.filter(pk=item.pk).update(folder=own)
    client = logged_in(anna)
    post(client, f"/post/message/{item.pk}/delete/")
    item.refresh_from_db()
    assert (item.folder.kind, item.previous_folder) == (Folder.Kind.BIN, own)
    post(client, f"/post/message/{item.pk}/restore/")
    item.refresh_from_db()
    assert (item.folder, item.previous_folder) == (own, None)


def test_emptying_the_bin_marks_its_letters_deleted(authority, anna):
    binned, kept = (
        deliver_letter(sender=authority, recipient=anna),
        deliver_letter(sender=authority, recipient=anna),
    )
    client = logged_in(anna)
    post(client, f"/post/message/{binned.pk}/delete/")
    post(client, "/post/bin/empty/")
    binned.refresh_from_db()
    kept.refresh_from_db()
    assert binned.deleted_at is not None and kept.deleted_at is None
    assert client.get(f"/post/message/{binned.pk}/").status_code == 404


def test_create_rename_and_delete_an_own_folder(authority, anna):
    client = logged_in(anna)
    assert post(client, "/post/folders/", {"name": "  Skat  "}).status_code == 302
    own = Folder.objects.get(mailbox=anna.mailbox, kind=Folder.Kind.CUSTOM)
    assert own.name == "Skat"
    post(client, f"/post/folders/{own.pk}/rename/", {f"folder-{own.pk}-name": "Skat 2025"})
    own.refresh_from_db()
    assert own.name == "Skat 2025"
    item = deliver_letter(sender=authority, recipient=anna)
    MailboxItem.objects.filter(pk=item.pk).update(folder=own)
    post(client, f"/post/folders/{own.pk}/delete/")
    assert not Folder.objects.filter(pk=own.pk).exists()
    assert MailboxItem.objects.get(pk=item.pk).folder.kind == Folder.Kind.INBOX


def test_a_duplicate_or_empty_folder_name_is_refused_with_400(anna):
    client = logged_in(anna)
    post(client, "/post/folders/", {"name": "Skat"})
    for name in ("skat", "", "Inbox"):
        response = post(client, "/post/folders/", {"name": name})
        assert response.status_code == 400, name
        assert 'aria-invalid="true"' in response.content.decode()
    assert Folder.objects.filter(mailbox=anna.mailbox, kind=Folder.Kind.CUSTOM).count() == 1


def test_the_standard_folders_cannot_be_renamed_or_deleted(anna):
    inbox = folder(anna.mailbox, "INBOX")
    client = logged_in(anna)
    assert post(client, f"/post/folders/{inbox.pk}/delete/").status_code == 404
    assert (
        post(client, f"/post/folders/{inbox.pk}/rename/", {f"folder-{inbox.pk}-name": "X"}).status_code == 404
    )
    assert Folder.objects.filter(pk=inbox.pk, name="INBOX").exists()


def test_the_menu_counts_unread_letters_per_folder(authority, anna):
    deliver_letter(sender=authority, recipient=anna)
    deliver_letter(sender=authority, recipient=anna)
    read = deliver_letter(sender=authority, recipient=anna)
    MailboxItem.objects.filter(pk=read.pk).update(read_at=timezone.now())
    assert "2 unread" in logged_in(anna).get("/post/").content.decode()
