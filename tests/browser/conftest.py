"""Browser tests: Playwright driving Debian's chromium (never a downloaded browser).

Each test gets a fresh browser context on the live server. ``shot(page, name)`` saves a
screenshot under ``var/test-artifacts/screenshots/`` (kept as test artifacts). The tests are
skipped, with the reason, where chromium or Playwright is missing.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = Path(__file__).resolve().parents[2] / "var" / "test-artifacts" / "screenshots"

playwright_sync = pytest.importorskip("playwright.sync_api")
if CHROMIUM is None:
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="package")
def browser():
    # Playwright's sync API runs an event loop in this thread while it lives; the ORM calls the
    # tests make for setup and checks are still plain synchronous calls. Only for this package,
    # so no other test (or subprocess it starts) inherits the switch.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with playwright_sync.sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
            yield browser
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)


@pytest.fixture
def page(browser, live_server, settings):
    settings.DIGITALPOST_DEV_LOGIN = True
    context = browser.new_context(base_url=live_server.url, locale="en-GB", accept_downloads=True)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def shot(page, name: str) -> Path:
    """Save a full-page screenshot as a test artifact and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / (re.sub(r"[^A-Za-z0-9_.-]+", "-", name) + ".png")
    page.screenshot(path=str(path), full_page=True)
    return path


def log_in(page, person, *, language: str = "en") -> None:
    """Log in through the development login as ``person`` (a Person with a user).

    Logging in applies the person's saved language, so the person is set to ``language`` first:
    English, which the tests read, unless a test asks for Danish.
    """
    from rights.models import Person

    Person.objects.filter(pk=person.pk).update(language=language)
    page.goto("/login/")
    page.locator(f'button[name="person"][value="{person.pk}"]').click()
    page.wait_for_load_state()
