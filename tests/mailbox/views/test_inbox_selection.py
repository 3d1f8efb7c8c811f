"""The listing's selection: one change to several letters at once, by the one-letter rules."""

from __future__ import annotations

import pytest

from mailbox.models import Folder, MailboxItem
from rights.models import MailboxAccess
from tests.factories import OrganisationFactory, PersonFactory, make_access, row_counts
from tests.mailbox.views.helpers import deliver_letter, folder, logged_in, post

pytestmark = pytest.mark.django_db


@pytest.fixture
def anna():
    return PersonFactory(name="Anna Andersen")


@pytest.fixture
def letters(anna):
    kommune = OrganisationFactory(name="Kommunen")
    return [deliver_letter(sender=kommune, recipient=anna, label=f"Brev {n}") for n in range(4)]


def _select(client, items, action, **data):
    return post(client, "/post/selected/", {"item": [i.pk for i in items], "action": action, **data})


def _state(items):
    return [
        MailboxItem.objects.values_list("folder__kind", "read_at", "previous_folder_id").get(pk=i.pk)
        for i in items
    ]


def test_the_listing_offers_the_selection_to_whoever_may_change_the_letters(anna, letters):
    client = logged_in(anna)
    page = client.get("/post/").content.decode()
    assert 'id="selection-form"' in page and 'id="selection-folder"' not in page  # nowhere to move
    for item in letters:
        assert f'name="item" value="{item.pk}" form="selection-form"' in page
    own = Folder.objects.create(mailbox=anna.mailbox, kind=Folder.Kind.CUSTOM, name="Skat")
    other = Folder.objects.create(mailbox=anna.mailbox, kind=Folder.Kind.CUSTOM, name="Bolig")
    inbox = folder(anna.mailbox, Folder.Kind.INBOX)
    MailboxItem.objects.filter(pk=letters[0].pk).update(folder=own)
    page = client.get(f"/post/folder/{own.pk}/").content.decode()
    targets = page.split('id="selection-folder"')[1].split("</select>")[0]
    assert f'value="{inbox.pk}"' in targets and f'value="{other.pk}"' in targets
    assert f'value="{own.pk}"' not in targets

    bent = PersonFactory()
    make_access(mailbox=anna.mailbox, grantee=bent, level=MailboxAccess.Level.READ)
    client = logged_in(bent)
    post(client, f"/post/mailbox/{anna.mailbox.pk}/")
    page = client.get("/post/").content.decode()
    assert "Brev 1" in page and 'id="selection-form"' not in page


def test_several_letters_are_marked_read_and_unread_at_once(anna, letters):
    client = logged_in(anna)
    response = _select(client, letters[:3], "read", next="/post/?page=1")
    assert (response.status_code, response["Location"]) == (302, "/post/?page=1")
    assert [read is not None for _, read, _ in _state(letters)] == [True, True, True, False]
    assert all(i.legal_notification_read_at is None for i in MailboxItem.objects.all())

    _select(client, letters[:2], "unread")
    assert [read is not None for _, read, _ in _state(letters)] == [False, False, True, False]


def test_several_letters_are_moved_and_those_in_the_bin_stay_there(anna, letters):
    client = logged_in(anna)
    own = Folder.objects.create(mailbox=anna.mailbox, kind=Folder.Kind.CUSTOM, name="Skat")
    _select(client, letters[3:], "delete")

    response = _select(client, letters, "move", folder=own.pk)

    assert [kind for kind, _, _ in _state(letters)] == ["CUSTOM", "CUSTOM", "CUSTOM", "BIN"]
    messages = [str(m) for m in response.wsgi_request._messages]
    assert messages == [
        "3 letters are moved.",
        "1 of the selected letters was left as it was: the change does not fit it.",
    ]


def test_deleted_letters_are_restored_each_to_where_it_was(anna, letters):
    client = logged_in(anna)
    own = Folder.objects.create(mailbox=anna.mailbox, kind=Folder.Kind.CUSTOM, name="Skat")
    gone = Folder.objects.create(mailbox=anna.mailbox, kind=Folder.Kind.CUSTOM, name="Gammelt")
    _select(client, letters[1:2], "move", folder=own.pk)
    _select(client, letters[2:3], "move", folder=gone.pk)

    _select(client, letters[:3], "delete")
    bin_folder = folder(anna.mailbox, Folder.Kind.BIN)
    assert [(kind, prev) for kind, _, prev in _state(letters[:3])] == [
        ("BIN", folder(anna.mailbox, Folder.Kind.INBOX).pk),
        ("BIN", own.pk),
        ("BIN", gone.pk),
    ]
    gone.delete()  # its letter goes back to the inbox

    _select(client, letters[:3], "restore")

    assert [(kind, prev) for kind, _, prev in _state(letters[:3])] == [
        ("INBOX", None),
        ("CUSTOM", None),
        ("INBOX", None),
    ]
    assert not MailboxItem.objects.filter(folder=bin_folder).exists()


def test_another_mailboxs_letter_in_the_selection_changes_nothing(anna, letters):
    bent = PersonFactory()
    bents = deliver_letter(sender=OrganisationFactory(), recipient=bent, label="Til Bent")
    client = logged_in(anna)
    before = _state([*letters, bents])

    assert _select(client, [letters[0], bents], "delete").status_code == 404
    assert _select(client, [bents], "read").status_code == 404
    assert post(client, "/post/selected/", {"item": ["x"], "action": "read"}).status_code == 404
    bents_folder = Folder.objects.create(mailbox=bent.mailbox, kind=Folder.Kind.CUSTOM, name="Bents")
    assert _select(client, letters[:1], "move", folder=bents_folder.pk).status_code == 404

    assert _state([*letters, bents]) == before


@pytest.mark.parametrize(
    ("data", "error"),
    [
        ({"action": "read"}, "Select at least one letter."),
        ({"action": "burn"}, "Choose what to do with the selected letters."),
        ({"action": "move"}, "Choose a folder to move the letters to."),
    ],
)
def test_a_selection_without_a_letter_an_action_or_a_folder_is_refused(anna, letters, data, error):
    client = logged_in(anna)
    if data["action"] != "read":
        data = {**data, "item": [letters[0].pk]}
    before = _state(letters)

    response = post(client, "/post/selected/", data)

    assert response.status_code == 302
    assert [str(m) for m in response.wsgi_request._messages] == [error]
    assert _state(letters) == before


def test_letters_cannot_be_moved_to_the_bin_or_sent(anna, letters):
    client = logged_in(anna)
    before = row_counts(MailboxItem)
    for kind in (Folder.Kind.BIN, Folder.Kind.SENT):
        response = _select(client, letters[:1], "move", folder=folder(anna.mailbox, kind).pk)
        assert [str(m) for m in response.wsgi_request._messages] == [
            "Letters can only be moved to the inbox or your own folders."
        ]
    assert [kind for kind, _, _ in _state(letters)] == ["INBOX"] * 4
    assert row_counts(MailboxItem) == before


def test_read_write_access_may_change_the_selection(anna, letters):
    bent = PersonFactory()
    make_access(mailbox=anna.mailbox, grantee=bent, level=MailboxAccess.Level.READ_WRITE)
    client = logged_in(bent)
    post(client, f"/post/mailbox/{anna.mailbox.pk}/")
    assert _select(client, letters[:2], "delete").status_code == 302
    assert [kind for kind, _, _ in _state(letters)] == ["BIN", "BIN", "INBOX", "INBOX"]


@pytest.mark.parametrize("target", ["https://evil.example/phish", "//evil.example/", "/post/?page=2"])
def test_it_goes_back_only_to_a_page_of_this_site(anna, letters, target):
    response = _select(logged_in(anna), letters[:1], "read", next=target)
    expected = target if target.startswith("/post/") else "/post/"
    assert (response.status_code, response["Location"]) == (302, expected)
