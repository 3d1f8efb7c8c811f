"""A system administrator creates a sender system, sees its token once, and uploads a certificate."""

import pytest

from adminaccess.models import System
from rights.models import StaffRole
from tests.adminaccess.views.helpers import make_certificate, make_staff, pem
from tests.browser.conftest import log_in, shot
from tests.factories import OrganisationFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_system_administrator_creates_a_sender_system_and_registers_its_certificate(page, tmp_path):
    authority = OrganisationFactory(name="Browser Kommune")
    admin = make_staff(authority, StaffRole.Role.SYSTEM_ADMINISTRATOR, name="Sys Admin")
    certificate, _ = make_certificate(common_name="ESDH browser")
    certificate_file = tmp_path / "client.pem"
    certificate_file.write_bytes(pem(certificate))

    log_in(page, admin)
    page.goto("/admin/systems/")
    page.get_by_role("link", name="Create a system").click()
    page.get_by_label("Name").fill("ESDH")
    page.get_by_label("Kind").select_option("SENDER")
    page.get_by_label("Allowed IP addresses").fill("192.0.2.0/24")
    shot(page, "admin-systems-create")
    page.get_by_role("button", name="Create system").click()

    token = page.get_by_test_id("new-token").input_value()
    system = System.objects.get(organisation=authority)
    assert token.startswith(system.token_prefix) and len(token) >= 43
    shot(page, "admin-systems-token-once")

    page.reload()
    assert page.get_by_test_id("new-token").count() == 0
    assert token not in page.content()
    assert page.get_by_test_id("token-prefix").inner_text() == f"{system.token_prefix}…"

    page.get_by_label("Certificate file").set_input_files(str(certificate_file))
    page.get_by_role("button", name="Upload certificate").click()
    facts = page.get_by_test_id("certificate").inner_text()
    assert "CN=ESDH browser,O=Test Kommune,C=DK" in facts
    system.refresh_from_db()
    assert system.certificate_subject == "CN=ESDH browser,O=Test Kommune,C=DK"
    shot(page, "admin-systems-certificate")

    page.goto("/admin/systems/")
    assert page.get_by_role("link", name="ESDH").count() == 1
    shot(page, "admin-systems-list")
