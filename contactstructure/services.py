"""Writes for the contact structure: contact groups and the contact points people write to."""

from __future__ import annotations

import re
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction

from adminaccess.models import Event, System
from adminaccess.services import event_log_write
from contactstructure.models import (
    CITIZEN_MAX_ATTACHMENTS,
    CITIZEN_MAX_BYTES,
    ContactGroup,
    ContactPoint,
)
from rights.models import Organisation, User

#: A KLE code: main group, optionally a group and a subject ("05", "05.04", "05.04.00").
_KLE = re.compile(r"^[0-9]{2}(\.[0-9]{2}){0,2}\Z")


def _max_length(model, field: str) -> int:
    return model._meta.get_field(field).max_length


def _clean_list(values: Iterable[str]) -> list[str]:
    return [v.strip() for v in values if v.strip()]


@transaction.atomic
def contact_point_create(
    *,
    organisation: Organisation,
    contact_point_id: str,
    label: str,
    recipient_system: System | None = None,
    group_label: str = "",
    info_text: str = "",
    keywords: Iterable[str] = (),
    kle_codes: Iterable[str] = (),
    field1_label: str = "",
    field1_required: bool = False,
    field2_label: str = "",
    field2_required: bool = False,
    max_size_bytes: int = CITIZEN_MAX_BYTES,
    max_attachments: int = CITIZEN_MAX_ATTACHMENTS,
    actor_user: User | None = None,
) -> ContactPoint:
    """Create a contact point, in the top-level group ``group_label`` (made if missing).

    Everything is checked before anything is written, so a refusal leaves no stray group.
    """
    contact_point_id, label, group_label = contact_point_id.strip(), label.strip(), group_label.strip()
    field1_label, field2_label = field1_label.strip(), field2_label.strip()
    keywords, kle_codes = _clean_list(keywords), _clean_list(kle_codes)

    errors: dict[str, str] = {}
    if not organisation.is_authority:
        errors["organisation"] = "Only authorities have contact points; this organisation is a company."
    if not contact_point_id:
        errors["contact_point_id"] = "A contact point needs an id."
    elif len(contact_point_id) > _max_length(ContactPoint, "contact_point_id"):
        errors["contact_point_id"] = "A contact point id is at most 64 characters."
    elif ContactPoint.objects.filter(organisation=organisation, contact_point_id=contact_point_id).exists():
        errors["contact_point_id"] = (
            f"Organisation {organisation.cvr} already has a contact point with id {contact_point_id!r}."
        )
    if not label:
        errors["label"] = "A contact point needs a label."
    elif len(label) > _max_length(ContactPoint, "label"):
        errors["label"] = "A label is at most 200 characters."
    if len(group_label) > _max_length(ContactGroup, "label"):
        errors["group_label"] = "A group label is at most 200 characters."
    if recipient_system is not None:
        if recipient_system.organisation_id != organisation.pk:
            errors["recipient_system"] = "The recipient system belongs to another organisation."
        elif recipient_system.kind != System.Kind.RECIPIENT:
            errors["recipient_system"] = (
                "This is a sender system; mail can only be routed to a recipient system."
            )
    bad_kle = [code for code in kle_codes if not _KLE.match(code)]
    if bad_kle:
        errors["kle_codes"] = f"Not a KLE code (NN, NN.NN or NN.NN.NN): {', '.join(bad_kle)}."
    for number, (field_label, required) in enumerate(
        [(field1_label, field1_required), (field2_label, field2_required)], start=1
    ):
        if required and not field_label:
            errors[f"field{number}_required"] = f"A required field {number} needs a label."
        elif len(field_label) > _max_length(ContactPoint, f"field{number}_label"):
            errors[f"field{number}_label"] = f"The label of field {number} is at most 100 characters."
    if not 1 <= max_size_bytes <= CITIZEN_MAX_BYTES:
        errors["max_size_bytes"] = f"The size limit must be between 1 and {CITIZEN_MAX_BYTES} bytes (10 MB)."
    if not 0 <= max_attachments <= CITIZEN_MAX_ATTACHMENTS:
        errors["max_attachments"] = f"The attachment limit must be between 0 and {CITIZEN_MAX_ATTACHMENTS}."
    if errors:
        raise ValidationError(errors)

    group = None
    if group_label:
        group, _ = ContactGroup.objects.get_or_create(
            organisation=organisation, parent=None, label=group_label
        )
    contact_point = ContactPoint.objects.create(
        organisation=organisation,
        group=group,
        contact_point_id=contact_point_id,
        label=label,
        info_text=info_text.strip(),
        keywords=keywords,
        kle_codes=kle_codes,
        field1_label=field1_label,
        field1_required=field1_required,
        field2_label=field2_label,
        field2_required=field2_required,
        max_size_bytes=max_size_bytes,
        max_attachments=max_attachments,
        recipient_system=recipient_system,
    )
    event_log_write(
        tag=Event.Tag.CONTACT_STRUCTURE_CHANGED,
        organisation=organisation,
        system=recipient_system,
        actor_user=actor_user,
        details={"action": "contact_point_created", "contactPointId": contact_point_id},
    )
    return contact_point
