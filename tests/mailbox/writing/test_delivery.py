"""Mail written in the inbox reaches the authority's recipient system exactly as API mail does."""

import pytest

from adminaccess.models import System
from mailbox.models import Delivery, Message, Receipt
from tests.factories import make_contact_point, make_system
from tests.mailbox.api.helpers import basic
from tests.mailbox.test_resend import PushServer

pytestmark = pytest.mark.django_db


@pytest.fixture
def server():
    push_server = PushServer()
    yield push_server
    push_server.close()


def write(client, point, capture):
    with capture(execute=True):
        response = client.post(
            f"/post/write/{point.deep_link_key}/", {"title": "Spørgsmål", "text": "Hej", "action": "send"}
        )
    assert response.status_code == 302
    return Message.objects.get(contact_point=point)


def test_a_push_system_gets_the_letter_posted_to_it(
    anna_client, town, server, django_capture_on_commit_callbacks
):
    push, _ = make_system(
        town,
        kind=System.Kind.RECIPIENT,
        is_default=True,
        protocol=System.Protocol.REST_PUSH,
        endpoint=server.url,
    )
    point = make_contact_point(town)

    message = write(anna_client, point, django_capture_on_commit_callbacks)

    assert message.recipient_system == push
    [(content_type, body)] = server.received
    assert content_type.startswith("multipart/form-data")
    assert f'filename="{message.message_uuid}.xml"'.encode() in body
    assert Delivery.objects.get(message=message).state == Delivery.State.READY_FOR_FETCH


def test_a_pull_system_lists_fetches_and_confirms_the_letter(
    anna_client, client, town, django_capture_on_commit_callbacks
):
    pull, token = make_system(
        town, kind=System.Kind.RECIPIENT, is_default=True, protocol=System.Protocol.REST_PULL
    )
    point = make_contact_point(town)
    message = write(anna_client, point, django_capture_on_commit_callbacks)
    client.logout()

    listing = client.get("/apis/v1/memos/", **basic(pull, token)).json()
    fetched = client.get(f"/apis/v1/memos/{message.message_uuid}", **basic(pull, token))
    receipt = client.post(
        f"/apis/v1/memos/{message.message_uuid}/receipt",
        data={"receiptStatus": "COMPLETED"},
        content_type="application/json",
        **basic(pull, token),
    )

    assert listing["content"] == [str(message.message_uuid)]
    assert fetched.status_code == 200
    with message.memo_file.open("rb") as stored:
        assert fetched.content == stored.read()
    assert receipt.status_code in (200, 201)
    assert Delivery.objects.get(message=message).state == Delivery.State.DONE
    # A person has no sender system and so no receipt queue: nothing is stored for them.
    assert Receipt.objects.filter(message=message).count() == 0


def test_a_memo_1_1_system_fetches_a_valid_1_1_letter_from_a_representative(
    client, town, django_capture_on_commit_callbacks
):
    from memo import validate
    from rights.models import MailboxAccess
    from tests.factories import PersonFactory, make_access
    from tests.mailbox.writing.conftest import act_in

    old, token = make_system(
        town,
        kind=System.Kind.RECIPIENT,
        is_default=True,
        protocol=System.Protocol.REST_PULL,
        memo_version="1.1",
    )
    point = make_contact_point(town, field1_label="Sagsnummer", kle_codes=["27.24"])
    owner, helper = PersonFactory(), PersonFactory()
    make_access(mailbox=owner.mailbox, grantee=helper, level=MailboxAccess.Level.READ_WRITE)
    client.force_login(helper.user)
    act_in(client, owner.mailbox)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            f"/post/write/{point.deep_link_key}/",
            {"title": "T", "text": "Hej", "field1": "S-1", "action": "send"},
        )
    message = Message.objects.get(contact_point=point)
    client.logout()

    fetched = client.get(f"/apis/v1/memos/{message.message_uuid}", **basic(old, token))

    report = validate(fetched.content)
    assert report.ok, report.errors
    assert report.version == "1.1"


def test_a_permanent_refusal_by_a_push_system_fails_the_letter_cleanly(
    anna_client, town, server, django_capture_on_commit_callbacks
):
    server.statuses = [400]
    make_system(
        town,
        kind=System.Kind.RECIPIENT,
        is_default=True,
        protocol=System.Protocol.REST_PUSH,
        endpoint=server.url,
    )
    point = make_contact_point(town)

    message = write(anna_client, point, django_capture_on_commit_callbacks)

    message.refresh_from_db()
    assert Delivery.objects.get(message=message).state == Delivery.State.FAILED
    assert message.state == Message.State.FAILED
    assert Receipt.objects.filter(message=message).count() == 0
