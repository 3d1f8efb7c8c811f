"""The account pages in a real browser: giving read access and using it; switching language."""

import pytest

from rights.models import MailboxAccess
from tests.browser.conftest import log_in, shot
from tests.factories import PersonFactory, make_message

pytestmark = pytest.mark.django_db(transaction=True)


def _log_out(page) -> None:
    page.locator("header form[action='/logout/'] button").click()
    page.wait_for_load_state()


def test_a_citizen_gives_read_access_and_the_grantee_reads_read_only(page):
    owner = PersonFactory(name="Olga Olsen")
    grantee = PersonFactory(name="Bjarne Berg")
    make_message(recipient=owner, label="Årsopgørelse 2025")

    page.goto("/login/")
    shot(page, "account-login")
    log_in(page, owner)
    page.goto("/post/access/")
    page.locator("#id_cpr").fill(f"{grantee.cpr[:6]}-{grantee.cpr[6:]}")
    page.locator("#id_level-READ").check()
    page.locator("form[action='/post/access/'] button[type=submit]").click()
    page.wait_for_load_state()
    shot(page, "account-access-granted")

    live = page.locator("section[aria-labelledby=live-heading]")
    assert "Bjarne Berg" in live.inner_text()
    access = MailboxAccess.objects.get()
    assert (access.grantee, access.level) == (grantee, MailboxAccess.Level.READ)

    _log_out(page)
    log_in(page, grantee)
    page.goto("/post/")
    page.locator(".mailbox-switcher summary").click()
    page.locator(f"form[action='/post/mailbox/{owner.mailbox.pk}/'] button").first.click()
    page.wait_for_load_state()
    shot(page, "account-grantee-reads-owners-mailbox")

    banner = page.locator(".mailbox-banner")
    assert "Olga Olsen" in banner.inner_text()
    assert "Årsopgørelse 2025" in page.content()
    # Read-only: nothing to write with, and the owner's access page is not the grantee's to manage.
    assert page.locator("a[href='/post/write/']").count() == 0
    assert page.goto("/post/access/").status == 403


def test_the_language_switches_to_english_and_back(page):
    person = PersonFactory(name="Sprog Svendsen")
    log_in(page, person, language="da")

    page.goto("/post/settings/")
    assert page.locator("html").get_attribute("lang") == "da"
    page.locator("#settings-language").select_option("en")
    page.locator("form[action='/post/settings/language/'] button").click()
    page.wait_for_load_state()
    shot(page, "account-settings-english")

    assert page.locator("html").get_attribute("lang") == "en"
    person.refresh_from_db()
    assert person.language == "en"
    page.goto("/post/devices/")
    shot(page, "account-devices")
    assert page.locator("html").get_attribute("lang") == "en"

    page.goto("/post/settings/")
    page.locator("#settings-language").select_option("da")
    page.locator("form[action='/post/settings/language/'] button").click()
    page.wait_for_load_state()
    shot(page, "account-settings-danish")

    assert page.locator("html").get_attribute("lang") == "da"
    person.refresh_from_db()
    assert person.language == "da"
