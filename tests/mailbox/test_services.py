"""mailbox_create: one owner, four standard folders."""

import pytest

from mailbox.models import Folder, Mailbox
from mailbox.services import mailbox_create
from rights.models import Organisation, Person
from tests.factories import row_counts

pytestmark = pytest.mark.django_db


def _bare_parties() -> tuple[Person, Organisation]:
    # Parties made through the services already have a mailbox; these are made bare on purpose.
    person = Person.objects.create(cpr="0101901234", name="Bare Person")
    organisation = Organisation.objects.create(
        cvr="12345678", name="Bare A/S", kind=Organisation.Kind.COMPANY
    )
    return person, organisation


@pytest.mark.parametrize("owner", ["person", "organisation"])
def test_it_creates_an_active_mailbox_with_the_four_standard_folders(owner):
    person, organisation = _bare_parties()
    party = {"person": person, "organisation": organisation}[owner]
    mailbox = mailbox_create(**{owner: party})
    mailbox.refresh_from_db()
    assert mailbox.owner == party
    assert (mailbox.status, mailbox.closed_at) == (Mailbox.Status.ACTIVE, None)
    assert sorted(mailbox.folders.values_list("kind", "name")) == [
        ("BIN", "BIN"),
        ("DRAFTS", "DRAFTS"),
        ("INBOX", "INBOX"),
        ("SENT", "SENT"),
    ]


def test_it_refuses_a_mailbox_without_an_owner():
    before = row_counts(Mailbox, Folder)
    with pytest.raises(ValueError, match="exactly one owner"):
        mailbox_create()
    assert row_counts(Mailbox, Folder) == before


def test_it_refuses_a_mailbox_with_two_owners():
    person, organisation = _bare_parties()
    before = row_counts(Mailbox, Folder)
    with pytest.raises(ValueError, match="exactly one owner"):
        mailbox_create(person=person, organisation=organisation)
    assert row_counts(Mailbox, Folder) == before
