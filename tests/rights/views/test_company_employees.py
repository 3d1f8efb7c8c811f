import pytest

from adminaccess.models import Event
from mailbox.access import mailbox_context_for
from rights.delegation import mailbox_access_grant
from rights.models import MailboxAccess, StaffRole
from rights.services import staff_role_grant
from tests.factories import CompanyFactory, OrganisationFactory, PersonFactory, row_counts
from tests.rights.views.helpers import company_with_administrator, logged_in

pytestmark = pytest.mark.django_db


def test_the_administrator_gives_an_employee_access_to_the_company_mailbox():
    company, administrator = company_with_administrator()
    employee = PersonFactory(name="Erik Employee")

    response = logged_in(administrator).post(
        "/post/company-employees/", {"company": company.cvr, "cpr": employee.cpr, "level": "READ_WRITE"}
    )

    assert response.status_code == 302
    access = MailboxAccess.objects.get()
    assert (access.mailbox, access.grantee, access.kind, access.level, access.granted_by_person) == (
        company.mailbox,
        employee,
        MailboxAccess.Kind.EMPLOYEE,
        MailboxAccess.Level.READ_WRITE,
        administrator,
    )
    context = mailbox_context_for(employee, company.mailbox.pk)
    assert context.is_company and context.can_write
    assert Event.objects.filter(tag=Event.Tag.READ_ACCESS_CREATED, mailbox=company.mailbox).count() == 1


def test_the_administrator_removes_an_employee():
    company, administrator = company_with_administrator()
    employee = PersonFactory()
    access = mailbox_access_grant(
        mailbox=company.mailbox, grantee=employee, level="READ", kind=MailboxAccess.Kind.EMPLOYEE
    )
    client = logged_in(administrator)

    listing = client.get("/post/company-employees/")
    response = client.post(f"/post/company-employees/{access.pk}/remove/", {"company": company.cvr})

    assert [a.grantee for a in listing.context["live"]] == [employee]
    assert response.status_code == 302
    access.refresh_from_db()
    assert access.revoked_at is not None
    assert mailbox_context_for(employee, company.mailbox.pk) is None


def test_others_get_403_and_nothing_changes():
    company, _administrator = company_with_administrator()
    employee = PersonFactory()
    access = mailbox_access_grant(
        mailbox=company.mailbox, grantee=employee, level="READ_WRITE", kind=MailboxAccess.Kind.EMPLOYEE
    )
    # An employee, even with read-write access and the mailbox-user role, is not an administrator.
    staff_role_grant(user=employee.user, organisation=company, role=StaffRole.Role.MAILBOX_USER)
    # A user administrator of an authority is not one of this company.
    authority_admin = PersonFactory()
    staff_role_grant(
        user=authority_admin.user, organisation=OrganisationFactory(), role=StaffRole.Role.USER_ADMINISTRATOR
    )
    newcomer = PersonFactory()
    before = row_counts(MailboxAccess, Event)

    for person in (employee, authority_admin, PersonFactory()):
        client = logged_in(person)
        client.post(f"/post/mailbox/{company.mailbox.pk}/")
        assert client.get("/post/company-employees/").status_code == 403
        assert (
            client.post(
                "/post/company-employees/", {"company": company.cvr, "cpr": newcomer.cpr, "level": "READ"}
            ).status_code
            == 403
        )
        assert (
            client.post(f"/post/company-employees/{access.pk}/remove/", {"company": company.cvr}).status_code
            == 403
        )

    assert row_counts(MailboxAccess, Event) == before


def test_an_administrator_of_another_company_cannot_reach_this_one():
    company, _administrator = company_with_administrator()
    _other, other_admin = company_with_administrator()
    employee = PersonFactory()
    access = mailbox_access_grant(
        mailbox=company.mailbox, grantee=employee, level="READ", kind=MailboxAccess.Kind.EMPLOYEE
    )
    client = logged_in(other_admin)

    assert client.get(f"/post/company-employees/?company={company.cvr}").status_code == 404
    assert client.post(f"/post/company-employees/{access.pk}/remove/").status_code == 404
    access.refresh_from_db()
    assert access.revoked_at is None


def test_it_refuses_an_unknown_cpr_with_a_message_on_the_field():
    company, administrator = company_with_administrator()
    before = row_counts(MailboxAccess, Event)

    response = logged_in(administrator).post(
        "/post/company-employees/", {"company": company.cvr, "cpr": "0101019999", "level": "READ"}
    )

    assert response.status_code == 400
    assert response.context["form"].errors["cpr"] == ["No person with this CPR number uses Digital Post."]
    assert row_counts(MailboxAccess, Event) == before


def test_an_administrator_of_two_companies_chooses_between_them():
    first, administrator = company_with_administrator()
    second = CompanyFactory(name="Anden ApS")
    staff_role_grant(user=administrator.user, organisation=second, role=StaffRole.Role.USER_ADMINISTRATOR)

    response = logged_in(administrator).get(f"/post/company-employees/?company={second.cvr}")

    assert response.context["company"] == second
    assert set(response.context["companies"]) == {first, second}
