import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from mailbox.models import MailboxItem, Message
from mailbox.sending import memo_send
from tests.factories import OrganisationFactory, PersonFactory, make_system
from tests.mailbox.api.helpers import letter

pytestmark = pytest.mark.django_db


def _held():
    sender, person = OrganisationFactory(), PersonFactory()
    uid, data = letter(
        sender_cvr=sender.cvr, recipient_id=person.cpr, value_date=timezone.localdate() + timedelta(days=3)
    )
    memo_send(data=data, system=make_system(sender)[0], expected_uuid=uid)
    return Message.objects.get(message_uuid=uid)


def _run(*args) -> dict:
    out = StringIO()
    call_command("release_value_dated", *args, stdout=out)
    return json.loads(out.getvalue())


def test_it_releases_nothing_before_the_date_and_everything_due_as_of_it():
    message = _held()
    assert _run()["released"] == 0
    as_of = (timezone.localdate() + timedelta(days=3)).isoformat()
    assert _run("--as-of", as_of) == {"asOf": as_of, "released": 1}
    assert MailboxItem.objects.filter(message=message).count() == 1


def test_as_of_is_refused_outside_test_environments(settings):
    settings.DIGITALPOST_DEV_LOGIN = False
    message = _held()
    with pytest.raises(CommandError, match="refused in production"):
        _run("--as-of", "2099-01-01")
    message.refresh_from_db()
    assert message.state == Message.State.HELD


def test_a_bad_date_is_a_clear_error():
    with pytest.raises(CommandError, match="not a date"):
        _run("--as-of", "tomorrow")
