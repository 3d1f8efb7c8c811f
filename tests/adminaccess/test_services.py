"""system_create, its API token, and the event log writer."""

import hashlib
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import ValidationError

from adminaccess.models import Event, System
from adminaccess.services import (
    event_log_write,
    system_check_token,
    system_create,
    system_rotate_token,
)
from tests.factories import OrganisationFactory, PersonFactory, make_message, make_system, row_counts

pytestmark = pytest.mark.django_db

NOON = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def _stored_values(system: System) -> list[str]:
    system = System.objects.get(pk=system.pk)
    return [str(getattr(system, field.attname)) for field in System._meta.concrete_fields]


# system_create


def test_it_returns_the_token_once_and_stores_only_its_hash_and_prefix():
    organisation = OrganisationFactory()
    system, token = system_create(organisation=organisation, kind=System.Kind.SENDER, name="ESDH")
    system.refresh_from_db()
    assert len(token) >= 43  # 256 random bits, URL-safe base64
    assert system.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert system.token_prefix == token[:8]
    assert len(system.token_prefix) == 8
    assert [value for value in _stored_values(system) if token in value] == []


def test_it_writes_a_system_created_event():
    organisation = OrganisationFactory()
    with time_machine.travel(NOON, tick=False):
        system, _ = system_create(organisation=organisation, kind=System.Kind.SENDER, name="ESDH")
    assert System.objects.get(pk=system.pk).token_rotated_at == NOON
    event = Event.objects.get(system=system)
    assert (event.tag, event.organisation) == (Event.Tag.SYSTEM_CREATED, organisation)


def test_it_stores_a_given_token_hashed_too():
    system, token = make_system(token="given-token-for-a-fixture-0123456789")
    assert token == "given-token-for-a-fixture-0123456789"
    assert system_check_token(system=System.objects.get(pk=system.pk), token=token) is True
    assert [value for value in _stored_values(system) if token in value] == []


def test_it_refuses_an_empty_given_token():
    _refused("token", kind=System.Kind.SENDER, token="")


def test_each_system_gets_its_own_token():
    (first, first_token), (_, second_token) = make_system(), make_system()
    assert first_token != second_token
    assert system_check_token(system=first, token=second_token) is False


def test_a_recipient_system_pulls_unless_told_otherwise():
    system, _ = make_system(kind=System.Kind.RECIPIENT)
    system.refresh_from_db()
    assert (system.protocol, system.endpoint, system.is_default) == (System.Protocol.REST_PULL, "", False)


def test_it_creates_a_push_system_with_its_endpoint():
    system, _ = make_system(
        kind=System.Kind.RECIPIENT,
        protocol=System.Protocol.REST_PUSH,
        endpoint="https://esdh.example.dk/memo",
    )
    system.refresh_from_db()
    assert (system.protocol, system.endpoint) == (System.Protocol.REST_PUSH, "https://esdh.example.dk/memo")


def _refused(field: str, **kwargs) -> None:
    organisation = kwargs.pop("organisation", None) or OrganisationFactory()
    before = row_counts(System, Event)
    with pytest.raises(ValidationError) as refused:
        system_create(organisation=organisation, name="Refused", **kwargs)
    assert list(refused.value.message_dict) == [field]
    assert row_counts(System, Event) == before


def test_it_refuses_a_push_system_without_an_endpoint():
    _refused("endpoint", kind=System.Kind.RECIPIENT, protocol=System.Protocol.REST_PUSH)


@pytest.mark.parametrize("kind", ["RECEIVER", "sender", ""])
def test_it_refuses_an_unknown_kind(kind):
    _refused("kind", kind=kind)


def test_it_refuses_an_unknown_protocol():
    _refused("protocol", kind=System.Kind.RECIPIENT, protocol="SFTP")


@pytest.mark.parametrize(
    "extra",
    [
        {"protocol": "REST_PULL"},
        {"protocol": "REST_PUSH", "endpoint": "https://esdh.example.dk/memo"},
        {"is_default": True},
    ],
)
def test_it_refuses_protocol_or_default_on_a_sender_system(extra):
    _refused("kind", kind=System.Kind.SENDER, **extra)


@pytest.mark.parametrize("memo_version", ["1.0", "1.3", ""])
def test_it_refuses_an_unknown_memo_version(memo_version):
    _refused("memo_version", kind=System.Kind.SENDER, memo_version=memo_version)


def test_a_refused_default_leaves_the_current_default_in_place():
    organisation = OrganisationFactory()
    current, _ = make_system(organisation, kind=System.Kind.RECIPIENT, is_default=True)
    _refused(
        "memo_version",
        organisation=organisation,
        kind=System.Kind.RECIPIENT,
        is_default=True,
        memo_version="9.9",
    )
    current.refresh_from_db()
    assert current.is_default is True


def test_the_default_moves_to_the_newest_default_recipient_system():
    organisation, other = OrganisationFactory(), OrganisationFactory()
    others_default, _ = make_system(other, kind=System.Kind.RECIPIENT, is_default=True)
    first, _ = make_system(organisation, kind=System.Kind.RECIPIENT, is_default=True)
    second, _ = make_system(organisation, kind=System.Kind.RECIPIENT, is_default=True)
    assert list(
        System.objects.filter(organisation=organisation, is_default=True).values_list("pk", flat=True)
    ) == [second.pk]
    first.refresh_from_db()
    others_default.refresh_from_db()
    assert (first.is_default, others_default.is_default) == (False, True)


def test_a_non_default_recipient_system_leaves_the_default_alone():
    organisation = OrganisationFactory()
    default, _ = make_system(organisation, kind=System.Kind.RECIPIENT, is_default=True)
    make_system(organisation, kind=System.Kind.RECIPIENT)
    default.refresh_from_db()
    assert default.is_default is True


# system_check_token


def test_the_right_token_passes_and_wrong_ones_fail():
    system, token = make_system()
    system = System.objects.get(pk=system.pk)
    assert system_check_token(system=system, token=token) is True
    for wrong in ("", token[:-1], token + "x", token.upper(), system.token_prefix, system.token_hash):
        assert system_check_token(system=system, token=wrong) is False, wrong


def test_a_system_without_a_stored_hash_accepts_no_token():
    system, token = make_system()
    system.token_hash = ""
    assert system_check_token(system=system, token=token) is False
    assert system_check_token(system=system, token="") is False


# system_rotate_token


def test_rotating_makes_the_old_token_fail_and_the_new_one_work():
    system, old = make_system()
    new = system_rotate_token(system=system)
    system = System.objects.get(pk=system.pk)
    assert new != old
    assert system_check_token(system=system, token=old) is False
    assert system_check_token(system=system, token=new) is True
    assert system.token_prefix == new[:8]
    assert [value for value in _stored_values(system) if new in value] == []


def test_rotating_writes_an_api_token_rotated_event_naming_who_did_it():
    system, _ = make_system()
    admin = PersonFactory().user
    system_rotate_token(system=system, actor_user=admin)
    event = Event.objects.get(tag=Event.Tag.API_TOKEN_ROTATED)
    assert (event.system, event.organisation, event.actor_user) == (system, system.organisation, admin)


def test_rotating_records_when_the_token_was_rotated():
    with time_machine.travel(NOON, tick=False):
        system, _ = make_system()
    with time_machine.travel(NOON + timedelta(days=90), tick=False):
        system_rotate_token(system=system)
    assert System.objects.get(pk=system.pk).token_rotated_at == NOON + timedelta(days=90)


# event_log_write


def test_an_event_about_a_message_keeps_its_uuid():
    message = make_message()
    event = event_log_write(tag=Event.Tag.MESSAGE_READ, message=message)
    stored = Event.objects.get(pk=event.pk)
    assert (stored.tag, stored.message, stored.message_uuid) == (
        Event.Tag.MESSAGE_READ,
        message,
        message.message_uuid,
    )


def test_an_explicit_message_uuid_is_kept():
    given = uuid.uuid4()
    event = event_log_write(tag=Event.Tag.MEMO_SEND_INVALID, message_uuid=given)
    assert Event.objects.get(pk=event.pk).message_uuid == given
