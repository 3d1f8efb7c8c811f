"""Helpers for the contact-structure editor tests."""

from __future__ import annotations

from adminaccess.access import Role
from adminaccess.models import Event
from contactstructure.models import ContactGroup, ContactPoint, ImportJob, RoutingRule
from rights.services import staff_role_grant
from tests.factories import PersonFactory, row_counts

MODELS = (ContactGroup, ContactPoint, RoutingRule, Event, ImportJob)


def staff_member(organisation, role: str = Role.CONTACT_STRUCTURE_ADMINISTRATOR):
    person = PersonFactory()
    staff_role_grant(user=person.user, organisation=organisation, role=role)
    return person


def counts() -> dict[str, int]:
    return row_counts(*MODELS)


def group(organisation, label: str, parent=None, **fields) -> ContactGroup:
    return ContactGroup.objects.create(organisation=organisation, label=label, parent=parent, **fields)


def point_form(**overrides) -> dict:
    """A complete, valid POST for the contact-point form."""
    data = {
        "contact_point_id": "pas",
        "label": "Pas og kørekort",
        "group": "",
        "info_text": "Spørgsmål om pas.",
        "keywords": "pas, kørekort",
        "kle_codes": "05.04.00",
        "field1_label": "",
        "field2_label": "",
        "max_size_kb": "10240",
        "max_attachments": "10",
        "is_visible": "on",
        "is_active": "on",
        "recipient_system": "",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def last_event() -> Event:
    return Event.objects.filter(tag=Event.Tag.CONTACT_STRUCTURE_CHANGED).order_by("-id").first()
