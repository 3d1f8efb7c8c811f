"""The logo page: PNG and JPEG by their real type, size and dimension limits, SVG refused."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from adminaccess.models import Event
from rights.models import Organisation, StaffRole
from tests.adminaccess.views.helpers import make_staff, png_bytes
from tests.factories import row_counts

pytestmark = pytest.mark.django_db

SVG = b'<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"><script>alert(1)</script></svg>'


@pytest.fixture
def admin(authority):
    return make_staff(authority, StaffRole.Role.SYSTEM_ADMINISTRATOR)


@pytest.fixture
def logged_in(client, admin):
    client.force_login(admin.user)
    return client


def _upload(client, data: bytes, name: str = "logo.png", content_type: str = "image/png"):
    return client.post(reverse("adminaccess:logo"), {"logo": SimpleUploadedFile(name, data, content_type)})


@pytest.mark.parametrize(("fmt", "extension"), [("PNG", ".png"), ("JPEG", ".jpg")])
def test_it_stores_a_png_or_jpeg_logo_and_shows_it(logged_in, authority, admin, fmt, extension):
    response = _upload(logged_in, png_bytes(200, 80, fmt), name="whatever.bin")

    assert response.status_code == 302
    authority.refresh_from_db()
    assert authority.logo.name.startswith(f"logos/{authority.cvr}-") and authority.logo.name.endswith(
        extension
    )
    with authority.logo.open("rb") as stored, Image.open(stored) as image:
        assert (image.format, image.size) == (fmt, (200, 80))
    page = logged_in.get(reverse("adminaccess:logo")).content.decode()
    assert authority.logo.url in page
    event = Event.objects.get(tag=Event.Tag.LOGO_CHANGED)
    assert (event.organisation, event.actor_user) == (authority, admin.user)


def _huge_png() -> bytes:
    return png_bytes(120, 60) + b"\0" * (500 * 1024)


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (SVG, "logo.svg", "The logo must be a PNG or JPEG image."),
        (SVG, "logo.png", "The logo must be a PNG or JPEG image."),
        (png_bytes(20, 20, "GIF"), "logo.png", "The logo must be a PNG or JPEG image."),
        (b"\x89PNG\r\n\x1a\n" + b"garbage" * 10, "logo.png", "The file is not a readable PNG or JPEG image."),
        (
            png_bytes(2001, 50),
            "logo.png",
            "The logo must be between 16 and 2000 pixels wide and high; it is 2001 × 50.",
        ),
        (
            png_bytes(10, 10),
            "logo.png",
            "The logo must be between 16 and 2000 pixels wide and high; it is 10 × 10.",
        ),
        (_huge_png(), "logo.png", "The logo may be at most 500 KB."),
    ],
    ids=["svg", "svg-named-png", "gif", "fake-png", "too-wide", "too-small", "too-large"],
)
def test_it_refuses_a_bad_logo_and_changes_nothing(logged_in, authority, data, name, message):
    _upload(logged_in, png_bytes())
    authority.refresh_from_db()
    before_logo, before = authority.logo.name, row_counts(Organisation, Event)

    response = _upload(logged_in, data, name=name)

    assert response.status_code == 400
    assert response.context["form"].errors["logo"] == [message]
    authority.refresh_from_db()
    assert authority.logo.name == before_logo
    assert row_counts(Organisation, Event) == before


def test_it_removes_the_logo(logged_in, authority):
    _upload(logged_in, png_bytes())
    assert logged_in.post(reverse("adminaccess:logo-remove")).status_code == 302
    authority.refresh_from_db()
    assert not authority.logo
    assert Event.objects.filter(tag=Event.Tag.LOGO_CHANGED).count() == 2
