"""Every form on the account pages needs the CSRF token."""

import pytest

from adminaccess.models import Event
from rights.delegation import mailbox_access_grant
from rights.models import ContactVerification, LoginSession, MailboxAccess, Person
from tests.factories import PersonFactory, row_counts
from tests.rights.views.helpers import company_with_administrator, logged_in

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    company, owner = company_with_administrator(mobile="20304050")
    friend = PersonFactory()
    delegation = mailbox_access_grant(mailbox=owner.mailbox, grantee=friend, level="READ")
    employee = mailbox_access_grant(mailbox=company.mailbox, grantee=friend, level="READ", kind="EMPLOYEE")
    return {
        "owner": owner,
        "friend": friend,
        "company": company,
        "delegation": delegation,
        "employee": employee,
    }


POSTS = [
    ("/login/", lambda w: {"person": w["owner"].pk}),
    ("/post/access/", lambda w: {"cpr": PersonFactory().cpr, "level": "READ"}),
    ("/post/access/{delegation}/revoke/", dict),
    (
        "/post/company-employees/",
        lambda w: {"company": w["company"].cvr, "cpr": PersonFactory().cpr, "level": "READ"},
    ),
    ("/post/company-employees/{employee}/remove/", lambda w: {"company": w["company"].cvr}),
    ("/post/settings/email/", lambda w: {"action": "send", "email": "new@example.dk"}),
    ("/post/settings/mobile/", lambda w: {"action": "remove"}),
    ("/post/settings/nemsms/", lambda w: {"nemsms": "on"}),
    ("/post/settings/language/", lambda w: {"language": "en"}),
    ("/post/devices/logout-others/", dict),
    ("/post/devices/{session}/logout/", dict),
    ("/post/devices/{session}/notifications/", lambda w: {"notifications": "off"}),
]


@pytest.mark.parametrize(("url", "data"), POSTS, ids=[url for url, _ in POSTS])
def test_it_refuses_a_post_without_the_csrf_token(world, url, data):
    other_device = logged_in(world["owner"])
    other_device.get("/post/settings/")
    session = LoginSession.objects.get(session_key=other_device.session.session_key)
    strict = logged_in(world["owner"], enforce_csrf_checks=True)
    url = url.format(delegation=world["delegation"].pk, employee=world["employee"].pk, session=session.pk)
    payload = data(world)
    models = (MailboxAccess, Event, ContactVerification, LoginSession, Person)
    before = row_counts(*models), list(Person.objects.values()), list(LoginSession.objects.values())

    response = strict.post(url, payload)

    assert response.status_code == 403
    assert (row_counts(*models), list(Person.objects.values()), list(LoginSession.objects.values())) == before
    assert other_device.get("/post/settings/").status_code == 200
