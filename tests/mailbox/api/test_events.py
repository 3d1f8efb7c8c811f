"""GET /apis/v1/events/ : a system's own part of the event log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from adminaccess.models import Event, System
from adminaccess.services import event_log_write
from mailbox.models import Message
from tests.factories import make_system
from tests.mailbox.api.helpers import basic
from tests.mailbox.api.test_pull import MEMOS, mail, party, receipt_for

pytestmark = pytest.mark.django_db

EVENTS = "/apis/v1/events/"
T = Event.Tag


def tags(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [e["eventTag"] for e in response.json()["content"]]


@pytest.fixture
def town():
    return party()


@pytest.fixture
def county():
    return party()


@pytest.fixture
def answered(client, django_capture_on_commit_callbacks, town, county):
    """A letter from town to county that county fetched and answered."""
    message_uuid = mail(client, django_capture_on_commit_callbacks, town, county)
    assert client.get(f"{MEMOS}{message_uuid}", **county.as_recipient).status_code == 200
    assert receipt_for(client, county, message_uuid).status_code == 201
    return Message.objects.get(message_uuid=message_uuid)


def test_a_sender_system_sees_its_own_events_and_those_of_the_messages_it_sent(client, town, answered):
    response = client.get(EVENTS, **town.as_sender)

    assert tags(response) == [
        T.SYSTEM_CREATED,
        T.MEMO_SEND_VALIDATED,
        T.MEMO_SEND_READY_FOR_FETCH,
        T.MEMO_SEND_FETCHED_BY_RECIPIENT_SYSTEM,
        T.BUSINESS_RECEIPT_RECEIVED_BY_RECIPIENT_SYSTEM,
    ]
    body = response.json()
    assert (body["number"], body["size"], body["totalElements"], body["totalPages"]) == (0, 20, 5, 1)
    validated = Event.objects.get(tag=T.MEMO_SEND_VALIDATED)
    assert body["content"][1] == {
        "eventId": validated.pk,
        "occurredAt": validated.occurred_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "eventTag": "MEMO_SEND_VALIDATED",
        "messageUUID": str(answered.message_uuid),
        "systemId": str(town.sender.system_id),
        "details": {"channel": "RECIPIENT_SYSTEM"},
    }
    # What the recipient system did is shown, but not which system it was nor its details.
    fetched = body["content"][3]
    assert (fetched["messageUUID"], fetched["systemId"], fetched["details"]) == (
        str(answered.message_uuid),
        None,
        {},
    )


def test_a_recipient_system_sees_its_own_events_and_those_of_the_messages_routed_to_it(
    client, county, answered
):
    response = client.get(EVENTS, **county.as_recipient)

    assert tags(response) == [
        T.SYSTEM_CREATED,
        T.MEMO_SEND_VALIDATED,
        T.MEMO_SEND_READY_FOR_FETCH,
        T.MEMO_SEND_FETCHED_BY_RECIPIENT_SYSTEM,
        T.BUSINESS_RECEIPT_RECEIVED_BY_RECIPIENT_SYSTEM,
    ]
    content = response.json()["content"]
    assert [e["systemId"] for e in content] == [
        str(county.recipient.system_id),
        None,  # the sender system's
        str(county.recipient.system_id),
        str(county.recipient.system_id),
        str(county.recipient.system_id),
    ]
    assert content[4]["details"] == {"receiptStatus": "COMPLETED", "errorCode": ""}


def test_it_never_shows_another_systems_events(client, town, county, answered):
    # The other systems of both organisations, and a stranger.
    stranger = party()
    sibling, sibling_token = make_system(town.organisation, kind=System.Kind.SENDER, name="Sibling")

    assert tags(client.get(EVENTS, **town.as_recipient)) == [T.SYSTEM_CREATED]
    assert tags(client.get(EVENTS, **county.as_sender)) == [T.SYSTEM_CREATED]
    assert tags(client.get(EVENTS, **stranger.as_sender)) == [T.SYSTEM_CREATED]
    assert tags(client.get(EVENTS, **basic(sibling, sibling_token))) == [T.SYSTEM_CREATED]
    ids = {e["eventId"] for e in client.get(EVENTS, **stranger.as_recipient).json()["content"]}
    assert ids == {Event.objects.get(tag=T.SYSTEM_CREATED, system=stranger.recipient).pk}


def test_a_recipient_system_sees_nothing_of_a_message_before_it_is_handed_over(
    client, django_capture_on_commit_callbacks, town, county
):
    message_uuid = mail(
        client,
        django_capture_on_commit_callbacks,
        town,
        county,
        value_date=timezone.localdate() + timedelta(days=5),
    )

    assert tags(client.get(EVENTS, **county.as_recipient)) == [T.SYSTEM_CREATED]
    assert tags(client.get(EVENTS, **town.as_sender)) == [
        T.SYSTEM_CREATED,
        T.DELAYED_MEMO_SEND_VALIDATED_AWAITING_DELAY,
    ]
    assert client.get(EVENTS, **town.as_sender).json()["content"][1]["messageUUID"] == str(message_uuid)


def test_it_filters_by_event_tag(client, town, answered):
    response = client.get(EVENTS, {"eventTag": "MEMO_SEND_VALIDATED"}, **town.as_sender)

    assert tags(response) == [T.MEMO_SEND_VALIDATED]
    assert response.json()["content"][0]["messageUUID"] == str(answered.message_uuid)


def test_it_pages_the_events(client, town, answered):
    pages = [client.get(EVENTS, {"page": n, "size": 2}, **town.as_sender).json() for n in range(3)]

    assert [len(p["content"]) for p in pages] == [2, 2, 1]
    assert {(p["totalElements"], p["totalPages"]) for p in pages} == {(5, 3)}
    ids = [e["eventId"] for p in pages for e in p["content"]]
    assert ids == sorted(ids)


@pytest.fixture
def march(town):
    """Events of town's sender system around the end of 1 and 2 March 2026 (Danish time, UTC+1)."""
    moments = {
        "feb-28-late": datetime(2026, 2, 28, 22, 59, 59, tzinfo=UTC),  # 28 Feb 23:59:59 in Denmark
        "mar-1-first": datetime(2026, 2, 28, 23, 0, 0, tzinfo=UTC),  # 1 Mar 00:00 in Denmark
        "mar-1-noon": datetime(2026, 3, 1, 11, 0, 0, tzinfo=UTC),
        "mar-2-last": datetime(2026, 3, 2, 22, 59, 59, tzinfo=UTC),  # 2 Mar 23:59:59 in Denmark
        "mar-3-first": datetime(2026, 3, 2, 23, 0, 0, tzinfo=UTC),  # 3 Mar 00:00 in Denmark
    }
    for name, at in moments.items():
        event_log_write(tag=T.API_TOKEN_ROTATED, system=town.sender, occurred_at=at, details={"name": name})
    return moments


def names(response) -> list[str]:
    assert response.status_code == 200, response.json()
    return [e["details"]["name"] for e in response.json()["content"]]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"dateFrom": "2026-03-01", "dateTo": "2026-03-02"}, ["mar-1-first", "mar-1-noon", "mar-2-last"]),
        ({"dateFrom": "2026-03-01", "dateTo": "2026-03-01"}, ["mar-1-first", "mar-1-noon"]),
        ({"dateTo": "2026-02-28"}, ["feb-28-late"]),
        ({"dateFrom": "2026-03-03"}, ["mar-3-first"]),
        (
            {"dateFrom": "2026-03-01T11:00:00Z", "dateTo": "2026-03-02T22:59:59Z"},
            ["mar-1-noon", "mar-2-last"],
        ),
        ({"dateFrom": "2026-03-01T12:00:00+01:00", "dateTo": "2026-03-01T12:00:00+01:00"}, ["mar-1-noon"]),
        # A '+' sent unescaped arrives as a space.
        ({"dateFrom": "2026-03-01T12:00:00 01:00", "dateTo": "2026-03-01T12:00:01 01:00"}, ["mar-1-noon"]),
        # Without an offset, Danish time.
        (
            {"dateFrom": "2026-03-01T12:00:00", "dateTo": "2026-03-03T00:00:00"},
            ["mar-1-noon", "mar-2-last", "mar-3-first"],
        ),
    ],
)
def test_it_filters_by_date_or_date_time_both_ends_inclusive(client, town, march, params, expected):
    response = client.get(EVENTS, {"eventTag": "API_TOKEN_ROTATED", **params}, **town.as_sender)

    assert names(response) == expected


@pytest.mark.parametrize(
    ("params", "code", "field"),
    [
        ({"dateFrom": "yesterday"}, "INVALID_DATE", "dateFrom"),
        ({"dateTo": "2026-13-01"}, "INVALID_DATE", "dateTo"),
        ({"dateTo": "2026-02-30"}, "INVALID_DATE", "dateTo"),
        ({"dateFrom": "2026-03-02", "dateTo": "2026-03-01"}, "INVALID_DATE_RANGE", "non_field_errors"),
        ({"eventTag": "NOT_A_TAG"}, "UNKNOWN_EVENT_TAG", "eventTag"),
        ({"size": "0"}, "INVALID_PAGING", "size"),
    ],
)
def test_it_refuses_bad_query_values(client, town, params, code, field):
    response = client.get(EVENTS, params, **town.as_sender)

    assert response.status_code == 400
    assert response.json()["code"] == code
    assert [e["field"] for e in response.json()["fieldErrors"]] == [field]


def test_the_event_log_needs_credentials(client):
    response = client.get(EVENTS)

    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHORIZED"


def test_the_event_log_is_documented(client):
    schema = client.get("/apis/v1/schema/", HTTP_ACCEPT="application/json").json()

    operation = schema["paths"]["/apis/v1/events/"]["get"]
    assert operation["operationId"] == "listEvents"
    assert {p["name"] for p in operation["parameters"]} == {"dateFrom", "dateTo", "eventTag", "page", "size"}
    assert set(operation["responses"]) == {"200", "400", "401", "403"}


def test_the_api_documentation_page_is_served(client):
    response = client.get("/apis/v1/docs/")

    assert response.status_code == 200
    assert b"/apis/v1/schema/" in response.content
