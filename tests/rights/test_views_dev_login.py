import pytest

from tests.factories import PersonFactory


def test_it_lists_people_who_can_log_in(client, db):
    PersonFactory(name="Karen Kristensen")
    response = client.get("/login/")
    assert response.status_code == 200
    assert "Karen Kristensen" in response.content.decode()


def test_it_logs_in_as_the_chosen_person(client, db):
    person = PersonFactory()
    response = client.post("/login/", {"person": person.pk})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(person.user.pk)


def test_it_refuses_an_unknown_person(client, db):
    assert client.post("/login/", {"person": 999999}).status_code == 404
    assert "_auth_user_id" not in client.session


@pytest.mark.parametrize("method", ["get", "post"])
def test_it_does_not_exist_when_disabled(client, db, settings, method):
    settings.DIGITALPOST_DEV_LOGIN = False
    person = PersonFactory()
    response = getattr(client, method)("/login/", {"person": person.pk})
    assert response.status_code == 404
    assert "_auth_user_id" not in client.session


def test_the_login_form_is_csrf_protected(db):
    from django.test import Client

    person = PersonFactory()
    strict = Client(enforce_csrf_checks=True)
    assert strict.post("/login/", {"person": person.pk}).status_code == 403


def test_it_groups_people_by_who_they_are(client, db):
    from rights.delegation import mailbox_access_grant
    from rights.models import StaffRole
    from rights.services import staff_role_grant
    from tests.factories import CompanyFactory, OrganisationFactory

    citizen = PersonFactory(name="Carla Citizen")
    employee = PersonFactory(name="Erik Employee")
    staff = PersonFactory(name="Sofie Staff")
    company = CompanyFactory(name="Byg ApS")
    mailbox_access_grant(mailbox=company.mailbox, grantee=employee, level="READ_WRITE", kind="EMPLOYEE")
    staff_role_grant(
        user=staff.user,
        organisation=OrganisationFactory(name="Kommunen"),
        role=StaffRole.Role.CITIZEN_SERVICE,
    )

    response = client.get("/login/", HTTP_ACCEPT_LANGUAGE="en")

    groups = {name: [c.person for c in choices] for name, choices in response.context["groups"].items()}
    assert groups == {"staff": [staff], "employees": [employee], "citizens": [citizen]}
    page = response.content.decode()
    assert "Employee of Byg ApS (read and write access)" in page
    assert "Kommunen: Citizen-service staff" in page


def test_it_logs_in_by_cpr_and_creates_the_login_identity_of_a_known_person(client, db):
    person = PersonFactory(with_login=False)

    response = client.post("/login/", {"cpr": f"{person.cpr[:6]}-{person.cpr[6:]}"})

    person.refresh_from_db()
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(person.user.pk)


def test_it_refuses_an_unknown_cpr(client, db):
    from rights.models import Person, User
    from tests.factories import row_counts

    before = row_counts(Person, User)

    response = client.post("/login/", {"cpr": "0101019999"}, HTTP_ACCEPT_LANGUAGE="en")

    assert response.status_code == 400
    assert "No person with this CPR number uses Digital Post." in response.content.decode()
    assert row_counts(Person, User) == before


@pytest.mark.parametrize(
    ("target", "expected"), [("/post/settings/", "/post/settings/"), ("https://evil.example/", "/")]
)
def test_it_follows_only_a_local_next(client, db, target, expected):
    person = PersonFactory()

    response = client.post(f"/login/?next={target}", {"person": person.pk})

    assert response["Location"] == expected
