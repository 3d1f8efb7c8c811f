from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from adminaccess.models import Event
from mailbox.access import mailbox_context_for
from rights.delegation import mailbox_access_grant, mailbox_access_revoke
from rights.models import MailboxAccess
from rights.nemsms import nemsms_register, nemsms_remove
from tests.factories import PersonFactory, row_counts

pytestmark = pytest.mark.django_db


def test_a_grant_gives_access_and_is_logged_for_the_owner():
    owner, grantee = PersonFactory(), PersonFactory()

    access = mailbox_access_grant(
        mailbox=owner.mailbox, grantee=grantee, level=MailboxAccess.Level.READ, granted_by_person=owner
    )

    context = mailbox_context_for(grantee, owner.mailbox.pk)
    assert context.access == access and not context.can_write and context.is_representative
    event = Event.objects.get(tag=Event.Tag.READ_ACCESS_CREATED)
    assert (event.mailbox, event.actor_person, event.details["grantee"]) == (
        owner.mailbox,
        owner,
        grantee.cpr,
    )


def test_it_refuses_a_second_live_grant_and_changes_nothing():
    owner, grantee = PersonFactory(), PersonFactory()
    mailbox_access_grant(mailbox=owner.mailbox, grantee=grantee, level=MailboxAccess.Level.READ)
    before = row_counts(MailboxAccess, Event)

    with pytest.raises(ValidationError, match="already has access"):
        mailbox_access_grant(mailbox=owner.mailbox, grantee=grantee, level=MailboxAccess.Level.READ_WRITE)

    assert row_counts(MailboxAccess, Event) == before


@pytest.mark.parametrize(
    ("level", "valid_until", "message"),
    [("ADMIN", None, "Choose read access"), ("READ", timedelta(days=-1), "in the future")],
)
def test_it_refuses_bad_grants(level, valid_until, message):
    owner, grantee = PersonFactory(), PersonFactory()
    until = timezone.now() + valid_until if valid_until else None

    with pytest.raises(ValidationError, match=message):
        mailbox_access_grant(mailbox=owner.mailbox, grantee=grantee, level=level, valid_until=until)

    assert not MailboxAccess.objects.exists()


def test_it_refuses_access_to_ones_own_mailbox():
    owner = PersonFactory()

    with pytest.raises(ValidationError, match="own mailbox"):
        mailbox_access_grant(mailbox=owner.mailbox, grantee=owner, level=MailboxAccess.Level.READ)


def test_revoking_stops_access_at_once_and_twice_is_refused():
    owner, grantee = PersonFactory(), PersonFactory()
    access = mailbox_access_grant(mailbox=owner.mailbox, grantee=grantee, level=MailboxAccess.Level.READ)

    mailbox_access_revoke(access=access, revoked_by=owner.user)

    assert mailbox_context_for(grantee, owner.mailbox.pk) is None
    assert Event.objects.filter(tag=Event.Tag.READ_ACCESS_DELETED, mailbox=owner.mailbox).count() == 1
    with pytest.raises(ValidationError, match="already been revoked"):
        mailbox_access_revoke(access=access, revoked_by=owner.user)
    assert Event.objects.filter(tag=Event.Tag.READ_ACCESS_DELETED).count() == 1


def test_expired_access_is_no_access(time_machine):
    owner, grantee = PersonFactory(), PersonFactory()
    mailbox_access_grant(
        mailbox=owner.mailbox,
        grantee=grantee,
        level=MailboxAccess.Level.READ,
        valid_until=timezone.now() + timedelta(days=1),
    )

    time_machine.move_to(timezone.now() + timedelta(days=1, seconds=1))

    assert mailbox_context_for(grantee, owner.mailbox.pk) is None


def test_nemsms_register_and_remove_are_logged_with_who_did_it():
    person = PersonFactory()

    nemsms_register(person=person, mobile="+45 12 34 56 78", actor_person=person)
    assert person.nemsms_mobile == "+4512345678"
    nemsms_remove(person=person, actor_person=person)

    person.refresh_from_db()
    assert person.nemsms_mobile == ""
    assert list(Event.objects.order_by("id").values_list("tag", "subject")) == [
        ("NEMSMS_REGISTERED", person.cpr),
        ("NEMSMS_REMOVED", person.cpr),
    ]


def test_nemsms_refuses_a_bad_number_and_changes_nothing():
    person = PersonFactory()

    with pytest.raises(ValidationError, match="8 to 15 digits"):
        nemsms_register(person=person, mobile="12ab")

    person.refresh_from_db()
    assert person.nemsms_mobile == "" and not Event.objects.exists()
