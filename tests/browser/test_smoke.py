import pytest

from tests.browser.conftest import log_in, shot
from tests.factories import PersonFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_person_logs_in_with_the_development_login_and_reaches_the_inbox(page):
    person = PersonFactory(name="Browser Borger")

    log_in(page, person)
    page.goto("/post/")
    shot(page, "smoke-inbox")

    assert page.locator("h1").first.inner_text() != ""
    assert "Browser Borger" in page.content()
