"""The inbox menu's links to other areas: shown where their URL exists and the context fits."""

from __future__ import annotations

import pytest

from mailbox.access import MailboxContext
from mailbox.navigation import Link, links_for
from rights.models import MailboxAccess
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db


def test_a_link_whose_url_is_not_installed_is_left_out(monkeypatch):
    anna = PersonFactory()
    monkeypatch.setattr("mailbox.navigation.LINKS", [Link("inbox", "Inbox"), Link("no-such-area", "Nowhere")])
    owner = MailboxContext(mailbox=anna.mailbox, actor=anna, level="OWNER")
    assert [link["label"] for link in links_for(owner)] == ["Inbox"]


def test_read_only_access_sees_no_writing_and_no_owner_settings():
    anna, bent = PersonFactory(), PersonFactory()
    reader = MailboxContext(mailbox=anna.mailbox, actor=bent, level=MailboxAccess.Level.READ)
    writer = MailboxContext(mailbox=anna.mailbox, actor=bent, level=MailboxAccess.Level.READ_WRITE)
    owner = MailboxContext(mailbox=anna.mailbox, actor=anna, level="OWNER")
    names = lambda context: {link["url_name"] for link in links_for(context)}  # noqa: E731
    assert "write" not in names(reader)
    assert "write" in names(writer) and "write" in names(owner)
    assert not names(reader) & {"access", "settings", "devices"}


def test_only_the_companys_user_administrators_see_the_employees_link():
    from rights.models import StaffRole
    from rights.services import staff_role_grant
    from tests.factories import CompanyFactory

    company, admin, employee = CompanyFactory(), PersonFactory(), PersonFactory()
    staff_role_grant(user=admin.user, organisation=company, role=StaffRole.Role.USER_ADMINISTRATOR)
    level = MailboxAccess.Level.READ_WRITE
    names = lambda actor: {  # noqa: E731
        link["url_name"]
        for link in links_for(MailboxContext(mailbox=company.mailbox, actor=actor, level=level))
    }

    assert "company-employees" in names(admin)
    assert "company-employees" not in names(employee)
    assert "company-employees" not in {
        link["url_name"]
        for link in links_for(MailboxContext(mailbox=admin.mailbox, actor=admin, level="OWNER"))
    }
