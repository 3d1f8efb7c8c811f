import pytest

from mailbox.access import SESSION_KEY
from tests.factories import OrganisationFactory, PersonFactory
from tests.mailbox.writing.helpers import recipient_system


@pytest.fixture
def town(db):
    return OrganisationFactory(name="Byens Kommune")


@pytest.fixture
def default_system(town):
    return recipient_system(town, default=True, name="Default")


@pytest.fixture
def anna(db):
    return PersonFactory(name="Anna Andersen")


@pytest.fixture
def anna_client(client, anna):
    client.force_login(anna.user)
    return client


def act_in(client, mailbox) -> None:
    """Make the logged-in person act in ``mailbox`` (as the switch-mailbox POST does)."""
    session = client.session
    session[SESSION_KEY] = mailbox.pk
    session.save()
