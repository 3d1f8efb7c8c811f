"""Who may see and change what in the inbox: ids of others give 404, read-only gives 403."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from adminaccess.models import Event
from mailbox.models import Folder, MailboxItem
from rights.models import MailboxAccess
from tests.factories import OrganisationFactory, PersonFactory, make_access, row_counts
from tests.mailbox.views.helpers import appointment, deliver_letter, folder, logged_in, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def authority():
    return OrganisationFactory(name="Aarhus Kommune")


@pytest.fixture
def anna():
    return PersonFactory(name="Anna Andersen")


@pytest.fixture
def bent():
    return PersonFactory(name="Bent Berg")


@pytest.fixture
def annas_letter(authority, anna):
    return deliver_letter(sender=authority, recipient=anna, label="Til Anna", actions=[appointment()])


def _pages(item):
    file = item.message.documents.get(kind="MAIN").files.get()
    action = item.message.documents.get(kind="MAIN").actions.get()
    return [
        f"/post/message/{item.pk}/",
        f"/post/message/{item.pk}/file/{file.pk}/",
        f"/post/message/{item.pk}/file/{file.pk}/?download=1",
        f"/post/message/{item.pk}/appointment/{action.pk}.ics",
    ]


def test_it_answers_404_for_another_persons_letter_and_its_documents(annas_letter, bent):
    client = logged_in(bent)
    for url in _pages(annas_letter):
        assert client.get(url).status_code == 404, url
    annas_letter.refresh_from_db()
    assert annas_letter.read_at is None


def test_it_answers_404_when_moving_flagging_or_deleting_another_persons_letter(annas_letter, bent):
    client = logged_in(bent)
    own_folder = Folder.objects.create(mailbox=bent.mailbox, kind=Folder.Kind.CUSTOM, name="Mit")
    before = list(MailboxItem.objects.values_list("folder_id", "flagged", "read_at", "previous_folder_id"))
    pk = annas_letter.pk
    for url, data in [
        (f"/post/message/{pk}/flag/", {"flagged": "1"}),
        (f"/post/message/{pk}/unread/", {}),
        (f"/post/message/{pk}/move/", {"folder": own_folder.pk}),
        (f"/post/message/{pk}/delete/", {}),
        (f"/post/message/{pk}/restore/", {}),
    ]:
        assert post(client, url, data).status_code == 404, url
    assert (
        list(MailboxItem.objects.values_list("folder_id", "flagged", "read_at", "previous_folder_id"))
        == before
    )


def test_it_answers_404_for_another_persons_folder(anna, bent):
    annas = Folder.objects.create(mailbox=anna.mailbox, kind=Folder.Kind.CUSTOM, name="Skat")
    client = logged_in(bent)
    assert client.get(f"/post/folder/{annas.pk}/").status_code == 404
    assert (
        post(client, f"/post/folders/{annas.pk}/rename/", {f"folder-{annas.pk}-name": "X"}).status_code == 404
    )
    assert post(client, f"/post/folders/{annas.pk}/delete/").status_code == 404
    assert Folder.objects.get(pk=annas.pk).name == "Skat"


def _acting_in(grantee, mailbox, level=MailboxAccess.Level.READ):
    access = make_access(mailbox=mailbox, grantee=grantee, level=level)
    client = logged_in(grantee)
    assert post(client, f"/post/mailbox/{mailbox.pk}/").status_code == 302
    return client, access


def test_read_only_access_shows_the_letters_with_a_banner(annas_letter, anna, bent):
    client, _ = _acting_in(bent, anna.mailbox)
    page = client.get("/post/").content.decode()
    assert "Til Anna" in page
    assert "You are reading Anna Andersen's mail, read-only." in page
    assert f"/post/message/{annas_letter.pk}/flag/" not in page


def test_read_only_access_cannot_change_anything(annas_letter, anna, bent):
    client, _ = _acting_in(bent, anna.mailbox)
    own = Folder.objects.create(mailbox=anna.mailbox, kind=Folder.Kind.CUSTOM, name="Eget")
    before = row_counts(MailboxItem, Folder, Event)
    state = list(MailboxItem.objects.values_list("folder_id", "flagged", "read_at", "deleted_at"))
    pk = annas_letter.pk
    for url, data in [
        (f"/post/message/{pk}/flag/", {"flagged": "1"}),
        (f"/post/message/{pk}/unread/", {}),
        (f"/post/message/{pk}/move/", {"folder": own.pk}),
        (f"/post/message/{pk}/delete/", {}),
        (f"/post/message/{pk}/restore/", {}),
        ("/post/bin/empty/", {}),
        ("/post/selected/", {"item": [pk], "action": "delete"}),
        ("/post/folders/", {"name": "Ny"}),
        (f"/post/folders/{own.pk}/rename/", {f"folder-{own.pk}-name": "Omdøbt"}),
        (f"/post/folders/{own.pk}/delete/", {}),
    ]:
        assert post(client, url, data).status_code == 403, url
    # The GET that fetched each CSRF token is a logged read; nothing else was written.
    assert row_counts(MailboxItem, Folder) == {k: before[k] for k in ("MailboxItem", "Folder")}
    assert list(MailboxItem.objects.values_list("folder_id", "flagged", "read_at", "deleted_at")) == state
    assert Folder.objects.get(pk=own.pk).name == "Eget"


def test_read_write_access_can_flag(annas_letter, anna, bent):
    client, _ = _acting_in(bent, anna.mailbox, MailboxAccess.Level.READ_WRITE)
    assert post(client, f"/post/message/{annas_letter.pk}/flag/", {"flagged": "1"}).status_code == 302
    assert MailboxItem.objects.get(pk=annas_letter.pk).flagged is True


def test_revoked_access_stops_at_the_next_request(annas_letter, anna, bent):
    client, access = _acting_in(bent, anna.mailbox)
    assert client.get(f"/post/message/{annas_letter.pk}/").status_code == 200
    MailboxAccess.objects.filter(pk=access.pk).update(revoked_at=timezone.now())
    assert client.get(f"/post/message/{annas_letter.pk}/").status_code == 404
    page = client.get("/post/").content.decode()
    assert "Til Anna" not in page
    assert "You are reading" not in page


def test_expired_access_stops_at_the_next_request(annas_letter, anna, bent):
    client, access = _acting_in(bent, anna.mailbox)
    MailboxAccess.objects.filter(pk=access.pk).update(
        valid_from=timezone.now() - timedelta(days=2), valid_until=timezone.now() - timedelta(seconds=1)
    )
    assert client.get(f"/post/message/{annas_letter.pk}/").status_code == 404


def test_switching_to_a_mailbox_without_access_is_refused(anna, bent):
    client = logged_in(bent)
    assert post(client, f"/post/mailbox/{anna.mailbox.pk}/").status_code == 403
    assert "Anna Andersen" not in client.get("/post/").content.decode()


@pytest.mark.parametrize(
    "url",
    [
        "/post/message/{pk}/flag/",
        "/post/message/{pk}/unread/",
        "/post/message/{pk}/delete/",
        "/post/message/{pk}/move/",
        "/post/bin/empty/",
        "/post/selected/?item={pk}&action=delete",
        "/post/folders/",
        "/post/mailbox/{mailbox}/",
    ],
)
def test_every_post_needs_a_csrf_token(annas_letter, anna, url):
    client = logged_in(anna)
    url = url.format(pk=annas_letter.pk, mailbox=anna.mailbox.pk)
    before = list(MailboxItem.objects.values_list("folder_id", "flagged", "read_at", "deleted_at"))
    assert client.post(url, {"flagged": "1", "name": "Ny"}).status_code == 403
    assert list(MailboxItem.objects.values_list("folder_id", "flagged", "read_at", "deleted_at")) == before
    assert not Folder.objects.filter(name="Ny").exists()


def test_representative_reads_are_logged_for_the_owner(annas_letter, anna, bent):
    client, _ = _acting_in(bent, anna.mailbox)
    last = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
    client.get("/post/")
    client.get(f"/post/message/{annas_letter.pk}/")
    file = annas_letter.message.documents.get(kind="MAIN").files.get()
    client.get(f"/post/message/{annas_letter.pk}/file/{file.pk}/?download=1")
    events = Event.objects.filter(tag=Event.Tag.MAILBOX_READ_BY_PARTY_REPRESENTATIVE, id__gt=last).order_by(
        "id"
    )
    assert [(e.mailbox_id, e.actor_person_id, e.message_id, e.details["read"]) for e in events] == [
        (anna.mailbox.pk, bent.pk, None, "folder"),
        (anna.mailbox.pk, bent.pk, annas_letter.message_id, "message"),
        (anna.mailbox.pk, bent.pk, annas_letter.message_id, "document"),
    ]


def test_the_owners_own_reads_are_not_logged_as_a_representatives(annas_letter, anna):
    client = logged_in(anna)
    client.get("/post/")
    client.get(f"/post/message/{annas_letter.pk}/")
    assert not Event.objects.filter(tag=Event.Tag.MAILBOX_READ_BY_PARTY_REPRESENTATIVE).exists()


def test_a_company_employee_reads_the_company_mailbox(authority):
    from tests.factories import CompanyFactory

    company, employee = CompanyFactory(name="Byg ApS"), PersonFactory(name="Eva")
    deliver_letter(sender=authority, recipient=company, label="Byggetilladelse")
    make_access(mailbox=company.mailbox, grantee=employee, kind=MailboxAccess.Kind.EMPLOYEE)
    client = logged_in(employee)
    assert "Byg ApS" in client.get("/post/").content.decode()  # offered in the switcher
    post(client, f"/post/mailbox/{company.mailbox.pk}/")
    assert "Byggetilladelse" in client.get("/post/").content.decode()
    assert folder(company.mailbox, Folder.Kind.INBOX).items.count() == 1
