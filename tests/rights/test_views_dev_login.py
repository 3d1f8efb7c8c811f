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
