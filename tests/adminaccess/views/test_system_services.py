"""The system services behind the pages: what they change, log and refuse."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from adminaccess.models import Event, System
from adminaccess.services import system_set_default, system_update, validate_allowed_ips
from tests.factories import OrganisationFactory, make_system, row_counts

pytestmark = pytest.mark.django_db


def test_the_kind_of_a_system_cannot_be_changed():
    system, _ = make_system()
    with pytest.raises(TypeError):
        system_update(system=system, kind=System.Kind.RECIPIENT)
    assert System.objects.get(pk=system.pk).kind == System.Kind.SENDER


def test_an_update_that_changes_nothing_logs_nothing():
    system, _ = make_system(name="ESDH")
    before = row_counts(Event)
    system_update(system=system, name=" ESDH ", memo_version="1.2")
    assert row_counts(Event) == before


def test_a_sender_never_gets_a_protocol_or_endpoint():
    system, _ = make_system()
    system_update(system=system, protocol="REST_PUSH", endpoint="https://x.example/")
    system.refresh_from_db()
    assert (system.protocol, system.endpoint) == ("", "")


def test_allowed_ips_are_normalised_and_deduplicated():
    assert validate_allowed_ips([" 192.0.2.7 ", "192.0.2.7/32", "2001:DB8::/32", ""]) == [
        "192.0.2.7/32",
        "2001:db8::/32",
    ]


def test_every_bad_address_is_named():
    with pytest.raises(ValidationError) as refused:
        validate_allowed_ips(["x", "10.0.0.0/8", "300.1.1.1"])
    assert [e.params["value"] for e in refused.value.error_dict["allowed_ips"]] == ["x", "300.1.1.1"]


def test_the_first_default_needs_no_previous_one():
    organisation = OrganisationFactory()
    system, _ = make_system(organisation, kind=System.Kind.RECIPIENT)
    system_set_default(system=system)
    assert list(System.objects.filter(is_default=True)) == [system]
    assert Event.objects.get(tag=Event.Tag.SYSTEM_CHANGED).details["previousDefault"] is None


def test_making_the_default_the_default_again_changes_nothing():
    system, _ = make_system(kind=System.Kind.RECIPIENT, is_default=True)
    before = row_counts(System, Event)
    system_set_default(system=system)
    assert row_counts(System, Event) == before
