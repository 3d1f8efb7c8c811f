"""Looking a citizen or company up: one exact number, logged, never a list of everyone."""

import pytest
from django.urls import reverse

from adminaccess.access import SESSION_KEY, Role
from adminaccess.models import Event
from rights.services import staff_role_grant
from tests.adminaccess.citizenservice.helpers import look_up, make_staff, party_url
from tests.factories import (
    CompanyFactory,
    OrganisationFactory,
    PersonFactory,
    make_access,
    make_exemption,
    row_counts,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    staff = make_staff(Role.CITIZEN_SERVICE)
    client.force_login(staff.user)
    return staff


def _organisation(staff):
    return staff.user.staff_roles.get().organisation


def test_it_finds_a_citizen_by_cpr_and_logs_who_looked_up_whom(client, staff):
    citizen = PersonFactory(cpr="0101801234", name="Karen Hansen")

    response = look_up(client, "010180-1234")

    assert response.status_code == 302
    assert response["Location"] == party_url(citizen.mailbox)
    event = Event.objects.get(tag=Event.Tag.CITIZEN_SERVICE_LOOKUP)
    assert (event.actor_user, event.organisation, event.mailbox, event.subject) == (
        staff.user,
        _organisation(staff),
        citizen.mailbox,
        "0101801234",
    )
    assert event.details == {"idType": "CPR", "found": True}


def test_it_says_not_found_for_an_unknown_cpr_and_lists_nobody(client, staff):
    PersonFactory(cpr="0202802345", name="Somebody Else")

    response = look_up(client, "0101010000")

    assert response.status_code == 404
    content = response.content.decode()
    assert "No citizen with CPR number 0101010000 has a Digital Post mailbox." in content
    assert "Somebody Else" not in content
    event = Event.objects.get(tag=Event.Tag.CITIZEN_SERVICE_LOOKUP)
    assert (event.actor_user, event.mailbox, event.subject, event.details) == (
        staff.user,
        None,
        "0101010000",
        {"idType": "CPR", "found": False},
    )


def test_it_finds_a_company_by_cvr(client, staff):
    company = CompanyFactory(cvr="12345678", name="Tømrer ApS")

    response = look_up(client, "12345678")

    assert response["Location"] == party_url(company.mailbox)
    assert Event.objects.get(tag=Event.Tag.CITIZEN_SERVICE_LOOKUP).details == {"idType": "CVR", "found": True}


def test_it_does_not_find_an_authority_by_cvr(client, staff):
    OrganisationFactory(cvr="29189846", name="Aarhus Kommune")

    response = look_up(client, "29189846")

    assert response.status_code == 404
    assert "No company with CVR number 29189846 has a Digital Post mailbox." in response.content.decode()


def test_it_refuses_a_malformed_number_and_logs_nothing(client, staff):
    PersonFactory(cpr="0101801234")
    before = row_counts(Event)

    response = look_up(client, "12345")

    assert response.status_code == 400
    assert "Enter a CPR number (10 digits) or a CVR number (8 digits)." in response.content.decode()
    assert row_counts(Event) == before


def test_the_page_about_a_person_opens_only_after_a_logged_lookup(client, staff):
    citizen = PersonFactory(name="Karen Hansen")

    response = client.get(party_url(citizen.mailbox))

    assert response.status_code == 302
    assert response["Location"] == reverse("adminaccess:citizen-service")
    assert not Event.objects.filter(tag=Event.Tag.CITIZEN_SERVICE_LOOKUP).exists()


def test_a_lookup_for_one_organisation_does_not_open_the_page_for_another(client):
    first, second = OrganisationFactory(), OrganisationFactory()
    staff = make_staff(Role.CITIZEN_SERVICE, organisation=first)
    staff_role_grant(user=staff.user, organisation=second, role=Role.CITIZEN_SERVICE)
    client.force_login(staff.user)
    citizen = PersonFactory(cpr="0101801234")
    _work_for(client, first)
    look_up(client, "0101801234")
    assert client.get(party_url(citizen.mailbox)).status_code == 200

    _work_for(client, second)
    response = client.get(party_url(citizen.mailbox))

    assert response.status_code == 302


def _work_for(client, organisation):
    session = client.session
    session[SESSION_KEY] = organisation.pk
    session.save()


def test_the_page_shows_mailbox_exemption_nemsms_and_who_has_access(client, staff):
    citizen = PersonFactory(cpr="0101801234", name="Karen Hansen", address="Vestergade 1\n8000 Aarhus C")
    citizen.nemsms_mobile = "+4512345678"
    citizen.save(update_fields=["nemsms_mobile"])
    make_exemption(mailbox=citizen.mailbox, reason="No computer", print_address="Vestergade 1")
    make_access(mailbox=citizen.mailbox, grantee=PersonFactory(name="Helper Jensen", cpr="0303803456"))
    look_up(client, "0101801234")

    response = client.get(party_url(citizen.mailbox))

    content = response.content.decode()
    assert response.status_code == 200
    assert "Karen Hansen" in content
    assert "No computer" in content
    assert "Registered with +4512345678" in content
    assert "Helper Jensen" in content
    assert "030380-****" in content
