"""Read access and NemSMS on a citizen's behalf, each naming the staff member in the event log."""

from datetime import timedelta

import pytest
from django.utils import timezone

from adminaccess.access import Role
from adminaccess.models import Event
from rights.models import MailboxAccess, Person
from tests.adminaccess.citizenservice.helpers import look_up, make_staff, party_url
from tests.factories import CompanyFactory, PersonFactory, make_access, row_counts

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(client):
    staff = make_staff(Role.CITIZEN_SERVICE)
    client.force_login(staff.user)
    return staff


@pytest.fixture
def citizen(client, staff):
    citizen = PersonFactory(cpr="0101801234", name="Karen Hansen")
    look_up(client, citizen.cpr)
    return citizen


@pytest.fixture
def helper():
    return PersonFactory(cpr="0303803456", name="Helper Jensen")


def test_it_gives_read_access_naming_the_staff_member(client, staff, citizen, helper):
    last_day = timezone.localdate() + timedelta(days=10)
    url = party_url(citizen.mailbox, "grant-access")
    confirm = client.post(url, {"grantee": "030380-3456", "valid_until": last_day.isoformat()})
    assert "Helper Jensen" in confirm.content.decode()
    assert not MailboxAccess.objects.exists()

    response = client.post(
        url, {"grantee": "030380-3456", "valid_until": last_day.isoformat(), "confirm": "1"}
    )

    assert response.status_code == 302
    access = MailboxAccess.objects.get(mailbox=citizen.mailbox)
    assert (access.grantee, access.level, access.granted_by_user) == (
        helper,
        MailboxAccess.Level.READ,
        staff.user,
    )
    assert timezone.localtime(access.valid_until).date() == last_day + timedelta(days=1)
    event = Event.objects.get(tag=Event.Tag.READ_ACCESS_CREATED)
    assert (event.actor_user, event.mailbox, event.details["grantee"]) == (
        staff.user,
        citizen.mailbox,
        helper.cpr,
    )


def test_it_refuses_an_unknown_grantee_and_changes_nothing(client, citizen):
    before = row_counts(MailboxAccess, Event)

    response = client.post(
        party_url(citizen.mailbox, "grant-access"), {"grantee": "0909099999", "confirm": "1"}
    )

    assert response.status_code == 400
    assert response.context["form"].errors["grantee"] == ["No person with this CPR number was found."]
    assert row_counts(MailboxAccess, Event) == before


def test_it_refuses_a_second_live_grant_and_changes_nothing(client, citizen, helper):
    make_access(mailbox=citizen.mailbox, grantee=helper)
    before = row_counts(MailboxAccess, Event)

    response = client.post(
        party_url(citizen.mailbox, "grant-access"), {"grantee": helper.cpr, "confirm": "1"}
    )

    assert response.status_code == 400
    assert response.context["form"].errors["grantee"] == ["Helper Jensen already has access to this mailbox."]
    assert row_counts(MailboxAccess, Event) == before


def test_it_revokes_access_naming_the_staff_member(client, staff, citizen, helper):
    access = make_access(mailbox=citizen.mailbox, grantee=helper)
    url = party_url(citizen.mailbox, "revoke-access", access_id=access.pk)
    assert client.get(url).status_code == 200

    response = client.post(url, {"confirm": "1"})

    assert response.status_code == 302
    access.refresh_from_db()
    assert (access.revoked_at is not None, access.revoked_by) == (True, staff.user)
    event = Event.objects.get(tag=Event.Tag.READ_ACCESS_DELETED)
    assert (event.actor_user, event.mailbox) == (staff.user, citizen.mailbox)


def test_it_will_not_revoke_access_to_another_mailbox(client, citizen, helper):
    elsewhere = make_access(mailbox=PersonFactory().mailbox, grantee=helper)
    before = row_counts(Event)

    response = client.post(
        party_url(citizen.mailbox, "revoke-access", access_id=elsewhere.pk), {"confirm": "1"}
    )

    assert response.status_code == 404
    elsewhere.refresh_from_db()
    assert elsewhere.revoked_at is None
    assert row_counts(Event) == before


def test_read_access_on_behalf_is_for_citizens_only(client, staff):
    company = CompanyFactory(cvr="12345678")
    look_up(client, company.cvr)

    response = client.get(party_url(company.mailbox, "grant-access"))

    assert response.status_code == 404


def test_it_registers_nemsms_naming_the_staff_member(client, staff, citizen):
    response = client.post(
        party_url(citizen.mailbox, "nemsms"), {"mobile": "+45 12 34 56 78", "confirm": "1"}
    )

    assert response.status_code == 302
    assert Person.objects.get(pk=citizen.pk).nemsms_mobile == "+4512345678"
    event = Event.objects.get(tag=Event.Tag.NEMSMS_REGISTERED)
    assert (event.actor_user, event.subject, event.mailbox) == (staff.user, citizen.cpr, citizen.mailbox)


def test_it_refuses_a_bad_mobile_number_and_changes_nothing(client, citizen):
    before = row_counts(Event)

    response = client.post(party_url(citizen.mailbox, "nemsms"), {"mobile": "12ab", "confirm": "1"})

    assert response.status_code == 400
    assert response.context["form"].errors["mobile"] == [
        "A mobile number is 8 to 15 digits, optionally starting with +."
    ]
    assert Person.objects.get(pk=citizen.pk).nemsms_mobile == ""
    assert row_counts(Event) == before


def test_it_removes_nemsms_naming_the_staff_member(client, staff, citizen):
    citizen.nemsms_mobile = "+4512345678"
    citizen.save(update_fields=["nemsms_mobile"])

    response = client.post(party_url(citizen.mailbox, "nemsms-remove"), {"confirm": "1"})

    assert response.status_code == 302
    assert Person.objects.get(pk=citizen.pk).nemsms_mobile == ""
    event = Event.objects.get(tag=Event.Tag.NEMSMS_REMOVED)
    assert (event.actor_user, event.subject) == (staff.user, citizen.cpr)


def test_it_leaves_a_company_employees_access_to_the_company(client, staff):
    company = CompanyFactory(cvr="12345678")
    employee = make_access(mailbox=company.mailbox, kind=MailboxAccess.Kind.EMPLOYEE)
    look_up(client, company.cvr)
    before = row_counts(Event)

    url = party_url(company.mailbox, "revoke-access", access_id=employee.pk)
    response = client.post(url, {"confirm": "1"})

    assert response.status_code == 404
    employee.refresh_from_db()
    assert employee.revoked_at is None
    assert row_counts(Event) == before
