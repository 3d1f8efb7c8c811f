"""Only contact-structure administrators of the current organisation reach the editor."""

import pytest
from django.urls import reverse

from adminaccess.access import SESSION_KEY, Role
from contactstructure import views
from rights.services import staff_role_grant
from tests.contactstructure.views.helpers import counts, group, staff_member
from tests.factories import OrganisationFactory, PersonFactory, make_contact_point

pytestmark = pytest.mark.django_db

URLS = [
    ("adminaccess:contact-structure", {}),
    ("adminaccess:contact-structure-group-create", {}),
    ("adminaccess:contact-structure-group-edit", {"group_id": 1}),
    ("adminaccess:contact-structure-group-shift", {"group_id": 1}),
    ("adminaccess:contact-structure-group-delete", {"group_id": 1}),
    ("adminaccess:contact-structure-point-create", {}),
    ("adminaccess:contact-structure-point-edit", {"point_id": 1}),
    ("adminaccess:contact-structure-point-delete", {"point_id": 1}),
    ("adminaccess:contact-structure-rule-create", {"point_id": 1}),
    ("adminaccess:contact-structure-rule-edit", {"point_id": 1, "rule_id": 1}),
    ("adminaccess:contact-structure-rule-delete", {"point_id": 1, "rule_id": 1}),
    ("adminaccess:contact-structure-export", {}),
    ("adminaccess:contact-structure-import", {}),
    ("adminaccess:contact-structure-import-job", {"job_id": 1}),
    ("adminaccess:contact-structure-import-progress", {"job_id": 1}),
    ("adminaccess:contact-structure-import-apply", {"job_id": 1}),
    ("adminaccess:contact-structure-import-restart", {"job_id": 1}),
]


def test_every_view_requires_the_contact_structure_administrator_role():
    for name in dir(views):
        view = getattr(views, name)
        if callable(view) and hasattr(view, "staff_roles"):
            assert view.staff_roles == (Role.CONTACT_STRUCTURE_ADMINISTRATOR,), name


@pytest.mark.parametrize(("url_name", "kwargs"), URLS)
@pytest.mark.parametrize("method", ["get", "post"])
def test_staff_with_another_role_get_403_and_change_nothing(client, authority, url_name, kwargs, method):
    group(authority, "Borgerservice")
    make_contact_point(authority)
    other_staff = staff_member(authority, role=Role.SYSTEM_ADMINISTRATOR)
    client.force_login(other_staff.user)
    before = counts()

    response = getattr(client, method)(reverse(url_name, kwargs=kwargs))

    assert response.status_code in (403, 405)
    assert counts() == before


@pytest.mark.parametrize(("url_name", "kwargs"), URLS[:3])
def test_a_citizen_gets_403(client, url_name, kwargs):
    client.force_login(PersonFactory().user)
    assert client.get(reverse(url_name, kwargs=kwargs)).status_code == 403


def test_an_anonymous_visitor_is_sent_to_log_in(client):
    response = client.get(reverse("adminaccess:contact-structure"))
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_the_role_in_another_organisation_does_not_count(client, authority):
    staff = staff_member(OrganisationFactory(name="Anden Kommune"))
    staff_role_grant(user=staff.user, organisation=authority, role=Role.EVENT_LOG_READER)
    client.force_login(staff.user)
    session = client.session
    session[SESSION_KEY] = authority.pk
    session.save()

    assert client.get(reverse("adminaccess:contact-structure")).status_code == 403


def test_the_menu_shows_the_section_to_an_administrator(admin_client):
    response = admin_client.get(reverse("adminaccess:home"))
    assert reverse("adminaccess:contact-structure") in response.content.decode()
