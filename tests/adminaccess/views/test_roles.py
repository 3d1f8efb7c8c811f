"""Users and roles: list staff, grant a role by CPR, remove one, keep the last user administrator."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.html import escape

from adminaccess.models import Event
from rights.models import StaffRole
from rights.services import staff_role_grant, staff_role_remove
from tests.adminaccess.views.helpers import make_staff
from tests.factories import CompanyFactory, OrganisationFactory, PersonFactory, row_counts

pytestmark = pytest.mark.django_db

Role = StaffRole.Role
LAST = "The organisation's last user administrator cannot be removed."


@pytest.fixture
def admin(authority):
    return make_staff(authority, Role.USER_ADMINISTRATOR, name="Brugeradministrator")


@pytest.fixture
def logged_in(client, admin):
    client.force_login(admin.user)
    return client


def _roles(person, organisation) -> set[str]:
    return set(
        StaffRole.objects.filter(user=person.user, organisation=organisation).values_list("role", flat=True)
    )


def test_it_lists_the_organisations_staff_and_their_roles(logged_in, authority):
    clerk = make_staff(authority, Role.CITIZEN_SERVICE, Role.EVENT_LOG_READER, name="Sagsbehandler")
    make_staff(OrganisationFactory(), Role.SYSTEM_ADMINISTRATOR, name="Fremmed")

    response = logged_in.get(reverse("adminaccess:roles"))

    assert response.status_code == 200
    rows = {row["person"].name: sorted(r.role for r in row["roles"]) for row in response.context["rows"]}
    assert rows == {
        "Brugeradministrator": ["USER_ADMINISTRATOR"],
        "Sagsbehandler": ["CITIZEN_SERVICE", "EVENT_LOG_READER"],
    }
    page = response.content.decode()
    assert f"{clerk.cpr[:6]}-****" in page and clerk.cpr not in page


def test_it_grants_a_role_to_a_person_found_by_cpr(logged_in, authority, admin):
    person = PersonFactory(name="Ny medarbejder")

    response = logged_in.post(
        reverse("adminaccess:roles-grant"),
        {"cpr": f"{person.cpr[:6]}-{person.cpr[6:]}", "role": "RECALL_ADMINISTRATOR"},
    )

    assert response.status_code == 302
    assert _roles(person, authority) == {"RECALL_ADMINISTRATOR"}
    assert StaffRole.objects.get(user=person.user).granted_by == admin.user
    event = Event.objects.get(tag=Event.Tag.ROLE_GRANTED)
    assert (event.actor_user, event.subject, event.organisation) == (admin.user, person.cpr, authority)
    assert event.details["role"] == "RECALL_ADMINISTRATOR"


@pytest.mark.parametrize(
    ("cpr", "role", "field", "message"),
    [
        ("12345", "CITIZEN_SERVICE", "cpr", "A CPR number is 10 digits (DDMMYYXXXX)."),
        ("0101011234", "CITIZEN_SERVICE", "cpr", "No person with this CPR number is known."),
        ("no-login", "CITIZEN_SERVICE", "cpr", "This person has no login yet."),
        (
            "known",
            "MAILBOX_USER",
            "role",
            "Select a valid choice. MAILBOX_USER is not one of the available choices.",
        ),
        (
            "known",
            "SUPERUSER",
            "role",
            "Select a valid choice. SUPERUSER is not one of the available choices.",
        ),
    ],
)
def test_it_refuses_a_bad_grant_and_changes_nothing(logged_in, cpr, role, field, message):
    if cpr == "no-login":
        cpr = PersonFactory(with_login=False).cpr
    elif cpr == "known":
        cpr = PersonFactory().cpr
    before = row_counts(StaffRole, Event)

    response = logged_in.post(reverse("adminaccess:roles-grant"), {"cpr": cpr, "role": role})

    assert response.status_code == 400
    assert response.context["form"].errors[field] == [message]
    assert row_counts(StaffRole, Event) == before


def test_a_company_may_grant_the_mailbox_user_role(client):
    company = CompanyFactory()
    admin = make_staff(company, Role.USER_ADMINISTRATOR)
    employee = PersonFactory()
    client.force_login(admin.user)
    response = client.post(reverse("adminaccess:roles-grant"), {"cpr": employee.cpr, "role": "MAILBOX_USER"})
    assert response.status_code == 302
    assert _roles(employee, company) == {"MAILBOX_USER"}


def test_it_removes_a_role_and_logs_it(logged_in, authority, admin):
    clerk = make_staff(authority, Role.CITIZEN_SERVICE, Role.EVENT_LOG_READER)
    staff_role = StaffRole.objects.get(user=clerk.user, role=Role.CITIZEN_SERVICE)

    response = logged_in.post(reverse("adminaccess:roles-remove", kwargs={"pk": staff_role.pk}))

    assert response.status_code == 302
    assert _roles(clerk, authority) == {"EVENT_LOG_READER"}
    event = Event.objects.get(tag=Event.Tag.ROLE_REMOVED)
    assert (event.actor_user, event.subject, event.details["role"]) == (
        admin.user,
        clerk.cpr,
        "CITIZEN_SERVICE",
    )


def test_the_last_user_administrator_cannot_be_removed(logged_in, authority, admin):
    staff_role = StaffRole.objects.get(user=admin.user, role=Role.USER_ADMINISTRATOR)
    before = row_counts(StaffRole, Event)

    response = logged_in.post(reverse("adminaccess:roles-remove", kwargs={"pk": staff_role.pk}))

    assert response.status_code == 400
    assert escape(LAST) in response.content.decode()
    assert row_counts(StaffRole, Event) == before
    assert _roles(admin, authority) == {"USER_ADMINISTRATOR"}


def test_one_of_two_user_administrators_may_remove_themselves(logged_in, authority, admin):
    make_staff(authority, Role.USER_ADMINISTRATOR)
    staff_role = StaffRole.objects.get(user=admin.user, role=Role.USER_ADMINISTRATOR)
    assert (
        logged_in.post(reverse("adminaccess:roles-remove", kwargs={"pk": staff_role.pk})).status_code == 302
    )
    assert StaffRole.objects.filter(organisation=authority, role=Role.USER_ADMINISTRATOR).count() == 1
    # Their roles are read on every request: the page is closed to them at once.
    assert logged_in.get(reverse("adminaccess:roles")).status_code == 403


def test_the_service_itself_keeps_the_last_user_administrator(authority):
    only = make_staff(authority, Role.USER_ADMINISTRATOR)
    before = row_counts(StaffRole, Event)
    with pytest.raises(ValidationError) as refused:
        staff_role_remove(user=only.user, organisation=authority, role=Role.USER_ADMINISTRATOR)
    assert refused.value.message_dict == {"role": [LAST]}
    assert row_counts(StaffRole, Event) == before


def test_removing_a_role_not_held_changes_nothing(authority):
    person = PersonFactory()
    before = row_counts(StaffRole, Event)
    assert staff_role_remove(user=person.user, organisation=authority, role=Role.CITIZEN_SERVICE) is False
    assert row_counts(StaffRole, Event) == before


def test_the_grant_service_refuses_a_mailbox_user_in_an_authority(authority):
    with pytest.raises(ValidationError) as refused:
        staff_role_grant(user=PersonFactory().user, organisation=authority, role=Role.MAILBOX_USER)
    assert refused.value.message_dict == {"role": ["Only a company has mailbox users."]}
    assert StaffRole.objects.count() == 0


def test_another_organisations_role_is_not_found(logged_in):
    other = OrganisationFactory()
    foreign = make_staff(other, Role.USER_ADMINISTRATOR, Role.CITIZEN_SERVICE)
    staff_role = StaffRole.objects.get(user=foreign.user, role=Role.CITIZEN_SERVICE)
    before = row_counts(StaffRole, Event)
    assert (
        logged_in.post(reverse("adminaccess:roles-remove", kwargs={"pk": staff_role.pk})).status_code == 404
    )
    assert row_counts(StaffRole, Event) == before
