"""Systems the database refuses, and an event log that cannot be changed."""

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, transaction

import adminaccess.models
from adminaccess.models import Event, System
from adminaccess.services import event_log_write
from mailbox.models import Message
from tests.factories import (
    OrganisationFactory,
    constraints_violated_in,
    declared_constraints,
    make_message,
    make_system,
    violates,
)

pytestmark = pytest.mark.django_db

NOON = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def test_every_constraint_in_adminaccess_models_has_a_test_here():
    untested = declared_constraints(adminaccess.models) - constraints_violated_in(__file__)
    assert sorted(untested) == []


def _system(organisation, **fields) -> System:
    """A system row written straight to the table, past the service's checks."""
    fields.setdefault("kind", System.Kind.RECIPIENT)
    fields.setdefault("protocol", System.Protocol.REST_PULL)
    return System.objects.create(organisation=organisation, name="Direct", **fields)


# System


def test_an_organisation_has_one_default_recipient_system():
    organisation = OrganisationFactory()
    make_system(organisation, kind=System.Kind.RECIPIENT, is_default=True)
    with violates("system_one_default_recipient_per_organisation", System):
        _system(organisation, is_default=True)


def test_each_organisation_may_have_its_own_default_and_many_other_recipient_systems():
    first, second = OrganisationFactory(), OrganisationFactory()
    for organisation in (first, second):
        _system(organisation, is_default=True)
        _system(organisation)
        _system(organisation)
    assert System.objects.filter(is_default=True).count() == 2
    assert System.objects.filter(organisation=first).count() == 3


def test_a_sender_system_cannot_be_the_default():
    with violates("system_default_is_recipient", System):
        _system(OrganisationFactory(), kind=System.Kind.SENDER, protocol="", is_default=True)


def test_a_sender_system_has_no_protocol():
    with violates("system_protocol_only_for_recipients", System):
        _system(OrganisationFactory(), kind=System.Kind.SENDER, protocol=System.Protocol.REST_PULL)


@pytest.mark.parametrize("protocol", ["", "SFTP"])
def test_a_recipient_system_uses_pull_or_push(protocol):
    with violates("system_protocol_only_for_recipients", System):
        _system(OrganisationFactory(), protocol=protocol)


def test_a_push_system_has_an_endpoint():
    with violates("system_push_needs_endpoint", System):
        _system(OrganisationFactory(), protocol=System.Protocol.REST_PUSH, endpoint="")


def test_a_push_system_with_an_endpoint_and_a_pull_system_without_one_save():
    organisation = OrganisationFactory()
    _system(organisation, protocol=System.Protocol.REST_PUSH, endpoint="https://example.dk/in")
    _system(organisation, protocol=System.Protocol.REST_PULL, endpoint="")
    assert System.objects.filter(organisation=organisation).count() == 2


def test_a_deactivated_system_records_when():
    system, _ = make_system()
    system.status = System.Status.DEACTIVATED
    with violates("system_deactivated_at_matches_status", System):
        system.save(update_fields=["status"])
    system.refresh_from_db()
    assert (system.status, system.deactivated_at) == (System.Status.ACTIVE, None)


def test_an_active_system_has_no_deactivation_time():
    system, _ = make_system()
    system.deactivated_at = NOON
    with violates("system_deactivated_at_matches_status", System):
        system.save(update_fields=["deactivated_at"])
    system.refresh_from_db()
    assert system.deactivated_at is None


def test_a_system_is_deactivated_with_status_and_time_together():
    system, _ = make_system()
    system.status, system.deactivated_at = System.Status.DEACTIVATED, NOON
    system.save(update_fields=["status", "deactivated_at"])
    system.refresh_from_db()
    assert (system.is_active, system.deactivated_at) == (False, NOON)


def test_a_system_id_belongs_to_one_system():
    system, _ = make_system()
    with pytest.raises(IntegrityError), transaction.atomic():
        _system(system.organisation, system_id=system.system_id)
    assert System.objects.filter(system_id=system.system_id).count() == 1


# Event: append-only


def _event() -> Event:
    return event_log_write(tag=Event.Tag.ROLE_GRANTED, organisation=OrganisationFactory(), subject="12345678")


def _unchanged(event: Event) -> bool:
    stored = Event.objects.get(pk=event.pk)
    return (stored.tag, stored.subject) == (Event.Tag.ROLE_GRANTED, "12345678")


def test_an_event_cannot_be_changed_by_saving_it():
    event = _event()
    event.tag = Event.Tag.ROLE_REMOVED
    with pytest.raises(TypeError, match="append-only"):
        event.save()
    with pytest.raises(TypeError, match="append-only"):
        event.save(update_fields=["tag"])
    assert _unchanged(event)


def test_events_cannot_be_changed_through_a_queryset():
    event = _event()
    with pytest.raises(TypeError, match="append-only"):
        Event.objects.filter(pk=event.pk).update(tag=Event.Tag.ROLE_REMOVED)
    with pytest.raises(TypeError, match="append-only"):
        Event.objects.update(subject="")
    assert _unchanged(event)


def test_events_cannot_be_changed_in_bulk():
    event = _event()
    event.tag = Event.Tag.ROLE_REMOVED
    # bulk_update opens its own atomic block; a savepoint keeps the test's transaction usable.
    with pytest.raises(TypeError, match="append-only"), transaction.atomic():
        Event.objects.bulk_update([event], ["tag"])
    assert _unchanged(event)


def test_an_event_cannot_be_deleted():
    event = _event()
    with pytest.raises(TypeError, match="append-only"):
        event.delete()
    assert Event.objects.filter(pk=event.pk).count() == 1
    assert _unchanged(event)


def test_events_cannot_be_deleted_through_a_queryset():
    event = _event()
    count = Event.objects.count()
    with pytest.raises(TypeError, match="append-only"):
        Event.objects.filter(pk=event.pk).delete()
    with pytest.raises(TypeError, match="append-only"):
        Event.objects.all().delete()
    assert Event.objects.count() == count
    assert _unchanged(event)


def test_an_event_outlives_the_message_it_names():
    message = make_message()
    event = event_log_write(tag=Event.Tag.MESSAGE_READ, message=message)
    message_uuid = message.message_uuid
    message_id = message.pk
    message.delete()
    stored = Event.objects.get(pk=event.pk)
    # Left exactly as written: the log is not rewritten when what it names goes.
    assert (stored.message_id, stored.message_uuid) == (message_id, message_uuid)
    with pytest.raises(Message.DoesNotExist):
        stored.message  # noqa: B018 - following the reference is the point


def test_an_event_outlives_the_system_it_names():
    organisation = OrganisationFactory()
    system = make_system(organisation)[0]
    event = event_log_write(tag=Event.Tag.SYSTEM_CHANGED, organisation=organisation, system=system)
    system_id = system.pk
    System.objects.filter(pk=system_id).delete()
    stored = Event.objects.get(pk=event.pk)
    assert (stored.organisation_id, stored.system_id) == (organisation.pk, system_id)


# TestIdentity (the test portal's marker on test citizens and companies)


def test_a_test_identity_is_a_person_or_a_company_never_both_or_neither():
    from adminaccess.models import TestIdentity
    from tests.factories import CompanyFactory, PersonFactory

    organisation, person, company = OrganisationFactory(), PersonFactory(), CompanyFactory()
    with violates("testidentity_person_or_company", TestIdentity):
        TestIdentity.objects.create(organisation=organisation, person=person, company=company)
    with violates("testidentity_person_or_company", TestIdentity):
        TestIdentity.objects.create(organisation=organisation)
