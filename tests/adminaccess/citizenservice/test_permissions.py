"""Only citizen-service staff reach citizen service; others get 403 and change nothing."""

import pytest
from django.urls import reverse

from adminaccess.access import Role
from adminaccess.models import Event
from mailbox.models import Exemption
from tests.adminaccess.citizenservice.helpers import make_staff, party_url
from tests.factories import PersonFactory, row_counts

pytestmark = pytest.mark.django_db

ACTIONS = ["", "exempt", "end-exemption", "grant-access", "nemsms", "nemsms-remove"]


@pytest.fixture
def citizen():
    return PersonFactory(cpr="0101801234")


@pytest.mark.parametrize("role", [Role.SYSTEM_ADMINISTRATOR, Role.EVENT_LOG_READER, Role.USER_ADMINISTRATOR])
def test_staff_without_the_role_get_403_on_the_lookup(client, citizen, role):
    client.force_login(make_staff(role).user)
    before = row_counts(Event)

    assert client.get(reverse("adminaccess:citizen-service")).status_code == 403
    assert client.post(reverse("adminaccess:citizen-service"), {"number": citizen.cpr}).status_code == 403
    assert row_counts(Event) == before


@pytest.mark.parametrize("action", ACTIONS)
def test_staff_without_the_role_get_403_on_every_action(client, citizen, action):
    client.force_login(make_staff(Role.SYSTEM_ADMINISTRATOR).user)
    before = row_counts(Event, Exemption)

    data = {
        "reason": "x",
        "print_address": "y",
        "mobile": "+4512345678",
        "grantee": "0303803456",
        "confirm": "1",
    }
    url = party_url(citizen.mailbox, action)
    response = client.post(url, data) if action else client.get(url)

    assert response.status_code == 403
    assert row_counts(Event, Exemption) == before


def test_a_citizen_gets_403(client, citizen):
    client.force_login(PersonFactory().user)

    assert client.get(reverse("adminaccess:citizen-service")).status_code == 403


def test_the_menu_shows_citizen_service_to_citizen_service_staff(client):
    client.force_login(make_staff(Role.CITIZEN_SERVICE).user)

    response = client.get(reverse("adminaccess:home"))

    assert reverse("adminaccess:citizen-service") in response.content.decode()
