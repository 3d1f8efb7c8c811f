from datetime import date, timedelta

import pytest
from django.utils import timezone

from adminaccess.models import Event
from adminaccess.services import event_log_write
from mailbox.access import SESSION_KEY
from rights.delegation import mailbox_access_grant
from rights.models import MailboxAccess
from tests.factories import PersonFactory, make_message, row_counts
from tests.rights.views.helpers import logged_in

pytestmark = pytest.mark.django_db


def test_the_owner_gives_read_access_by_cpr():
    owner, grantee = PersonFactory(name="Olga Owner"), PersonFactory(name="Gert Grantee")
    client = logged_in(owner)

    response = client.post("/post/access/", {"cpr": f"{grantee.cpr[:6]}-{grantee.cpr[6:]}", "level": "READ"})

    assert response.status_code == 302
    access = MailboxAccess.objects.get()
    assert (access.mailbox, access.grantee, access.level, access.kind, access.valid_until) == (
        owner.mailbox,
        grantee,
        "READ",
        MailboxAccess.Kind.DELEGATION,
        None,
    )
    assert (access.granted_by_person, access.granted_by_user) == (owner, owner.user)
    page = client.get("/post/access/").content.decode()
    assert "Gert Grantee" in page


def test_an_end_date_lasts_the_whole_day():
    owner, grantee = PersonFactory(), PersonFactory()
    last_day = timezone.localdate() + timedelta(days=3)

    logged_in(owner).post(
        "/post/access/", {"cpr": grantee.cpr, "level": "READ_WRITE", "valid_until": last_day}
    )

    access = MailboxAccess.objects.get()
    assert timezone.localtime(access.valid_until).date() == last_day + timedelta(days=1)
    assert timezone.localtime(access.valid_until).time().hour == 0


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"cpr": "123", "level": "READ"}, "cpr", "A CPR number is 10 digits"),
        ({"cpr": "9999999999", "level": "READ"}, "cpr", "No person with this CPR number"),
        ({"cpr": "OWN", "level": "READ"}, "cpr", "You cannot give yourself access"),
        ({"cpr": "GRANTEE", "level": "ADMIN"}, "level", "ADMIN"),
        (
            {"cpr": "GRANTEE", "level": "READ", "valid_until": str(date(2020, 1, 1))},
            "valid_until",
            "in the past",
        ),
    ],
)
def test_it_refuses_a_bad_grant_and_changes_nothing(data, field, message):
    owner, grantee = PersonFactory(), PersonFactory()
    data = {**data, "cpr": {"OWN": owner.cpr, "GRANTEE": grantee.cpr}.get(data["cpr"], data["cpr"])}
    before = row_counts(MailboxAccess, Event)

    response = logged_in(owner).post("/post/access/", data)

    assert response.status_code == 400
    assert message in " ".join(response.context["form"].errors[field])
    assert f'id="id_{field}-error"' in response.content.decode() or field == "level"
    assert row_counts(MailboxAccess, Event) == before


def test_it_refuses_a_second_grant_to_the_same_person():
    owner, grantee = PersonFactory(), PersonFactory(name="Gitte")
    client = logged_in(owner)
    client.post("/post/access/", {"cpr": grantee.cpr, "level": "READ"})
    before = row_counts(MailboxAccess, Event)

    response = client.post("/post/access/", {"cpr": grantee.cpr, "level": "READ_WRITE"})

    assert response.status_code == 400
    assert response.context["form"].errors["cpr"] == [
        "Gitte already has access. Remove it first to change it."
    ]
    assert row_counts(MailboxAccess, Event) == before


def test_revoking_stops_access_at_once():
    owner, grantee = PersonFactory(), PersonFactory()
    access = mailbox_access_grant(
        mailbox=owner.mailbox, grantee=grantee, level="READ", granted_by_person=owner
    )
    representative = logged_in(grantee)
    representative.post(f"/post/mailbox/{owner.mailbox.pk}/")
    assert representative.session[SESSION_KEY] == owner.mailbox.pk

    response = logged_in(owner).post(f"/post/access/{access.pk}/revoke/")

    assert response.status_code == 302
    access.refresh_from_db()
    assert access.revoked_at is not None and access.revoked_by == owner.user
    # The grantee's next request falls back to their own mailbox.
    representative.get("/post/settings/")
    assert SESSION_KEY not in representative.session
    event = Event.objects.filter(tag=Event.Tag.READ_ACCESS_DELETED).get()
    assert (event.mailbox, event.actor_person) == (owner.mailbox, owner)


def test_the_page_shows_history_reads_and_changes():
    owner = PersonFactory()
    current, former = PersonFactory(name="Carl Current"), PersonFactory(name="Frida Former")
    ended = mailbox_access_grant(mailbox=owner.mailbox, grantee=former, level="READ", granted_by_person=owner)
    client = logged_in(owner)
    client.post(f"/post/access/{ended.pk}/revoke/")
    mailbox_access_grant(mailbox=owner.mailbox, grantee=current, level="READ_WRITE", granted_by_person=owner)
    letter = make_message(recipient=owner, label="Skatteopgørelse 2025")
    event_log_write(
        tag=Event.Tag.MAILBOX_READ_BY_PARTY_REPRESENTATIVE,
        mailbox=owner.mailbox,
        message=letter,
        actor_person=current,
        subject=owner.cpr,
    )
    # Someone else's mailbox: must not show up here.
    other = PersonFactory()
    event_log_write(
        tag=Event.Tag.MAILBOX_READ_BY_PARTY_REPRESENTATIVE, mailbox=other.mailbox, actor_person=former
    )

    response = client.get("/post/access/")

    assert response.status_code == 200
    assert [a.grantee for a in response.context["live"]] == [current]
    assert [a.grantee for a in response.context["ended"]] == [former]
    assert [(e.actor_person, e.message) for e in response.context["reads"]] == [(current, letter)]
    assert [e.tag for e in response.context["changes"]] == [
        Event.Tag.READ_ACCESS_CREATED,
        Event.Tag.READ_ACCESS_DELETED,
        Event.Tag.READ_ACCESS_CREATED,
    ]
    assert "Skatteopgørelse 2025" in response.content.decode()


def test_a_representative_cannot_grant_or_revoke_further():
    owner, representative, friend = PersonFactory(), PersonFactory(), PersonFactory()
    mailbox_access_grant(mailbox=owner.mailbox, grantee=representative, level="READ_WRITE")
    other = mailbox_access_grant(mailbox=owner.mailbox, grantee=friend, level="READ")
    client = logged_in(representative)
    client.post(f"/post/mailbox/{owner.mailbox.pk}/")
    before = row_counts(MailboxAccess, Event)

    assert client.get("/post/access/").status_code == 403
    assert client.post("/post/access/", {"cpr": friend.cpr, "level": "READ"}).status_code == 403
    assert client.post(f"/post/access/{other.pk}/revoke/").status_code == 403

    assert row_counts(MailboxAccess, Event) == before
    other.refresh_from_db()
    assert other.revoked_at is None


def test_one_cannot_revoke_access_to_someone_elses_mailbox():
    owner, stranger, grantee = PersonFactory(), PersonFactory(), PersonFactory()
    access = mailbox_access_grant(mailbox=owner.mailbox, grantee=grantee, level="READ")

    response = logged_in(stranger).post(f"/post/access/{access.pk}/revoke/")

    assert response.status_code == 404
    access.refresh_from_db()
    assert access.revoked_at is None


def test_the_grantee_sees_the_mailboxes_they_may_open():
    owner, grantee = PersonFactory(name="Olivia Owner"), PersonFactory()
    mailbox_access_grant(mailbox=owner.mailbox, grantee=grantee, level="READ")

    response = logged_in(grantee).get("/post/access/")

    assert [c.mailbox for c in response.context["others"]] == [owner.mailbox]
    assert f'action="/post/mailbox/{owner.mailbox.pk}/"' in response.content.decode()


def test_anonymous_visitors_log_in_first(client):
    response = client.get("/post/access/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")
