import pytest
from django.test import Client

from rights.models import LoginSession
from tests.factories import PersonFactory
from tests.rights.views.helpers import logged_in

pytestmark = pytest.mark.django_db

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)


def _browser(person, user_agent: str, ip: str) -> Client:
    client = Client(HTTP_USER_AGENT=user_agent, REMOTE_ADDR=ip)
    assert client.post("/login/", {"person": person.pk}).status_code == 302
    return client


def test_logging_in_records_the_device_and_logging_out_removes_it():
    person = PersonFactory()

    laptop = _browser(person, FIREFOX, "192.0.2.10")

    session = LoginSession.objects.get()
    assert (session.user, session.session_key, session.ip_address) == (
        person.user,
        laptop.session.session_key,
        "192.0.2.10",
    )
    laptop.post("/logout/")
    assert not LoginSession.objects.exists()


def test_the_page_lists_each_device_readably():
    person = PersonFactory()
    laptop = _browser(person, FIREFOX, "192.0.2.10")
    _browser(person, IPHONE, "198.51.100.7")

    response = laptop.get("/post/devices/")

    rows = response.context["sessions"]
    assert sorted(str(r.device) for r in rows) == ["Firefox, Linux", "Safari, iPhone"]
    assert [r.is_current for r in rows if str(r.device) == "Firefox, Linux"] == [True]
    assert "198.51.100.7" in response.content.decode()


def test_logging_out_one_device_ends_that_session():
    person = PersonFactory()
    laptop = _browser(person, FIREFOX, "192.0.2.10")
    phone = _browser(person, IPHONE, "198.51.100.7")
    phone_session = LoginSession.objects.get(session_key=phone.session.session_key)

    response = laptop.post(f"/post/devices/{phone_session.pk}/logout/")

    assert response.status_code == 302
    assert phone.get("/post/settings/").status_code == 302  # back to the login page
    assert laptop.get("/post/settings/").status_code == 200
    assert list(LoginSession.objects.values_list("session_key", flat=True)) == [laptop.session.session_key]


def test_logging_out_all_other_devices():
    person = PersonFactory()
    laptop = _browser(person, FIREFOX, "192.0.2.10")
    others = [_browser(person, IPHONE, f"198.51.100.{n}") for n in (1, 2)]

    laptop.post("/post/devices/logout-others/")

    assert [c.get("/post/settings/").status_code for c in others] == [302, 302]
    assert laptop.get("/post/settings/").status_code == 200


def test_one_cannot_log_out_someone_elses_device():
    person, stranger = PersonFactory(), PersonFactory()
    victim = _browser(person, FIREFOX, "192.0.2.10")
    victim_session = LoginSession.objects.get()

    response = logged_in(stranger).post(f"/post/devices/{victim_session.pk}/logout/")

    assert response.status_code == 404
    assert victim.get("/post/settings/").status_code == 200


def test_notices_can_be_turned_off_for_one_device():
    person = PersonFactory()
    laptop = _browser(person, FIREFOX, "192.0.2.10")
    _browser(person, IPHONE, "198.51.100.7")
    phone_session = LoginSession.objects.get(ip_address="198.51.100.7")

    response = laptop.post(f"/post/devices/{phone_session.pk}/notifications/", {"notifications": "off"})

    assert response.status_code == 302
    assert dict(LoginSession.objects.values_list("ip_address", "notifications_enabled")) == {
        "192.0.2.10": True,
        "198.51.100.7": False,
    }


def test_the_notices_toggle_answers_htmx_with_the_row():
    person = PersonFactory()
    laptop = _browser(person, FIREFOX, "192.0.2.10")
    session = LoginSession.objects.get()

    response = laptop.post(
        f"/post/devices/{session.pk}/notifications/", {"notifications": "off"}, HTTP_HX_REQUEST="true"
    )

    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith(f'<tr id="device-{session.pk}">')
    session.refresh_from_db()
    assert session.notifications_enabled is False


def test_a_session_the_hub_no_longer_knows_is_ended(settings):
    person = PersonFactory()
    laptop = _browser(person, FIREFOX, "192.0.2.10")
    LoginSession.objects.all().delete()
    session = laptop.session
    session["login_session_seen_at"] = 0
    session.save()

    assert laptop.get("/post/settings/").status_code == 302


def test_last_seen_is_refreshed_at_most_once_a_minute():
    from datetime import timedelta

    from django.utils import timezone

    person = PersonFactory()
    laptop = _browser(person, FIREFOX, "192.0.2.10")
    an_hour_ago = timezone.now() - timedelta(hours=1)
    LoginSession.objects.update(last_seen_at=an_hour_ago)

    laptop.get("/post/settings/")
    assert LoginSession.objects.get().last_seen_at == an_hour_ago  # seen less than a minute ago

    session = laptop.session
    session["login_session_seen_at"] = (timezone.now() - timedelta(seconds=61)).timestamp()
    session.save()
    laptop.get("/post/settings/", REMOTE_ADDR="192.0.2.99")

    refreshed = LoginSession.objects.get()
    assert refreshed.last_seen_at > an_hour_ago + timedelta(minutes=59)
    assert refreshed.ip_address == "192.0.2.99"


def test_the_new_mail_notice_counts_letters_since_the_page_opened_on_a_device_with_notices_on():
    import time

    from tests.factories import make_message

    person = PersonFactory()
    laptop = _browser(person, FIREFOX, "192.0.2.10")
    opened = int(time.time()) - 1
    make_message(recipient=person, label="Ny besked")

    response = laptop.get("/post/devices/new-mail/", {"since": opened})

    assert response.context["count"] == 1
    assert 'hx-trigger="every 60s"' in response.content.decode()
    assert laptop.get("/post/devices/new-mail/", {"since": int(time.time()) + 5}).context["count"] == 0


def test_the_new_mail_notice_is_silent_and_stops_where_notices_are_off():
    import time

    from tests.factories import make_message

    person = PersonFactory()
    laptop = _browser(person, FIREFOX, "192.0.2.10")
    LoginSession.objects.update(notifications_enabled=False)
    make_message(recipient=person)

    response = laptop.get("/post/devices/new-mail/", {"since": int(time.time()) - 60})

    assert response.context["count"] == 0
    assert "hx-get" not in response.content.decode()
