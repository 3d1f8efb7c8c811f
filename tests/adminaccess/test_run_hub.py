from io import StringIO

from django.core.management import call_command

from adminaccess.models import System
from digitalpost import demo
from mailbox.models import Mailbox
from rights.models import MailboxAccess, Organisation, Person, StaffRole


def _counts():
    return [m.objects.count() for m in (Organisation, Person, Mailbox, System, StaffRole, MailboxAccess)]


def test_it_prints_how_to_log_in_and_how_a_sender_authenticates(db):
    out = StringIO()
    call_command("run_hub", "--no-start", "--port", "8123", stdout=out)
    text = out.getvalue()
    assert "http://127.0.0.1:8123/login/" in text
    assert f"citizen:          {demo.CITIZEN['name']}" in text
    assert f"company employee: {demo.EMPLOYEE['name']}" in text
    assert f"authority staff:  {demo.STAFF['name']}" in text
    assert f"systemId  {demo.SENDER_SYSTEM_ID}" in text
    assert f"apiToken  {demo.SENDER_TOKEN}" in text


def test_seeding_twice_changes_nothing_the_second_time(db):
    call_command("seed_demo", stdout=StringIO())
    first = _counts()
    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert _counts() == first
    assert "already present" in out.getvalue()


def test_the_seeded_demo_token_authenticates_the_demo_sender(db):
    from adminaccess.services import system_check_token

    call_command("seed_demo", stdout=StringIO())
    sender = System.objects.get(system_id=demo.SENDER_SYSTEM_ID)
    assert sender.kind == System.Kind.SENDER
    assert system_check_token(system=sender, token=demo.SENDER_TOKEN)
    assert sender.token_hash != demo.SENDER_TOKEN


def test_seeding_is_refused_when_the_development_login_is_off(db, settings):
    import pytest
    from django.core.management.base import CommandError

    settings.DIGITALPOST_DEV_LOGIN = False
    with pytest.raises(CommandError):
        call_command("seed_demo", stdout=StringIO())
    assert Organisation.objects.count() == 0
