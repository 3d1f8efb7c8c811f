"""django-axes locks out a username and address after repeated failures (Django admin login)."""

import pytest

from rights.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def english(client):
    # Pages in English, so the assertions read the msgids whatever the Danish catalogue says.
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


ADMIN_LOGIN = "/django-admin/login/?next=/django-admin/"


@pytest.fixture
def superuser():
    return User.objects.create_superuser("root", "root@example.dk", "right-password-123")


def _attempt(client, password: str, ip: str = "192.0.2.1"):
    return client.post(ADMIN_LOGIN, {"username": "root", "password": password}, REMOTE_ADDR=ip)


def test_the_right_password_logs_in(client, superuser):
    assert _attempt(client, "right-password-123").status_code == 302
    assert client.session["_auth_user_id"] == str(superuser.pk)


def test_five_failures_lock_the_username_out_from_that_address(client, superuser):
    for _ in range(4):
        assert _attempt(client, "wrong").status_code == 200  # the form again, with an error

    assert _attempt(client, "wrong").status_code == 429
    locked = _attempt(client, "right-password-123")

    assert locked.status_code == 429
    assert "Too many failed logins" in locked.content.decode()
    assert "_auth_user_id" not in client.session


def test_the_lockout_is_per_address(client, superuser):
    for _ in range(5):
        _attempt(client, "wrong", ip="192.0.2.1")

    assert _attempt(client, "right-password-123", ip="198.51.100.9").status_code == 302


def test_the_lockout_ends_after_the_cool_off(client, superuser, settings):
    from datetime import timedelta

    from axes.models import AccessAttempt

    for _ in range(5):
        _attempt(client, "wrong")
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )

    assert _attempt(client, "right-password-123").status_code == 302
