"""Writes for the contact structure: contact groups and the contact points people write to."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext

from adminaccess.models import Event, System
from adminaccess.services import event_log_write
from contactstructure.models import (
    CITIZEN_MAX_ATTACHMENTS,
    CITIZEN_MAX_BYTES,
    ContactGroup,
    ContactPoint,
    ImportJob,
    RoutingRule,
)
from digitalpost.queueing import enqueue_after_commit
from rights.models import Organisation, User

log = logging.getLogger(__name__)

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
    group: ContactGroup | None = None,
    is_visible: bool = True,
    is_active: bool = True,
    actor_user: User | None = None,
) -> ContactPoint:
    """Create a contact point, in ``group`` or in the top-level group ``group_label`` (made if
    missing).

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
    if group is not None and group.organisation_id != organisation.pk:
        errors["group"] = "The group belongs to another organisation."
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

    if group is None and group_label:
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
        is_visible=is_visible,
        is_active=is_active,
    )
    event_log_write(
        tag=Event.Tag.CONTACT_STRUCTURE_CHANGED,
        organisation=organisation,
        system=recipient_system,
        actor_user=actor_user,
        details={"action": "contact_point_created", "contactPointId": contact_point_id},
    )
    return contact_point


# --- The editor in Administrativ Adgang ---------------------------------------------------------
# Messages here are shown to staff, so they are translated; the checks are the last word, the
# forms only check the same things earlier so the page can tie a message to its field.

#: What separates the groups of a path in the editor and in files: "Borgerservice > Pas".
GROUP_PATH_SEPARATOR = " > "


def kle_code_error(code: str) -> str | None:
    if _KLE.match(code):
        return None
    return gettext("%(code)s is not a KLE code (NN, NN.NN or NN.NN.NN).") % {"code": code}


def group_label_error(label: str) -> str | None:
    if not label:
        return gettext("A group needs a label.")
    if len(label) > _max_length(ContactGroup, "label"):
        return gettext("A label is at most 200 characters.")
    if GROUP_PATH_SEPARATOR.strip() in label:
        return gettext("A group label cannot contain “>”; it separates groups in a path.")
    return None


def contact_point_field_errors(
    *,
    contact_point_id: str,
    label: str,
    kle_codes: list[str],
    field1_label: str,
    field1_required: bool,
    field2_label: str,
    field2_required: bool,
    max_size_bytes: int | None,
    max_attachments: int | None,
) -> dict[str, str]:
    """What is wrong with a contact point's own values, field by field (no database needed)."""
    errors: dict[str, str] = {}
    if not contact_point_id:
        errors["contact_point_id"] = gettext("A contact point needs an id.")
    elif len(contact_point_id) > _max_length(ContactPoint, "contact_point_id"):
        errors["contact_point_id"] = gettext("An id is at most 64 characters.")
    if not label:
        errors["label"] = gettext("A contact point needs a label.")
    elif len(label) > _max_length(ContactPoint, "label"):
        errors["label"] = gettext("A label is at most 200 characters.")
    bad = [message for message in (kle_code_error(code) for code in kle_codes) if message]
    if bad:
        errors["kle_codes"] = " ".join(bad)
    for number, (field_label, required) in enumerate(
        [(field1_label, field1_required), (field2_label, field2_required)], start=1
    ):
        if required and not field_label:
            errors[f"field{number}_label"] = gettext("A required field needs a label.")
        elif len(field_label) > _max_length(ContactPoint, f"field{number}_label"):
            errors[f"field{number}_label"] = gettext("A field label is at most 100 characters.")
    if max_size_bytes is None or not 1 <= max_size_bytes <= CITIZEN_MAX_BYTES:
        errors["max_size_bytes"] = gettext("The size limit must be between 1 byte and 10 MB.")
    if max_attachments is None or not 0 <= max_attachments <= CITIZEN_MAX_ATTACHMENTS:
        errors["max_attachments"] = gettext("The attachment limit must be between 0 and %(max)s.") % {
            "max": CITIZEN_MAX_ATTACHMENTS
        }
    return errors


def recipient_system_error(
    *, organisation: Organisation, system: System | None, current: System | None = None
) -> str | None:
    """Mail may go only to one of the organisation's own active recipient systems.

    The system a point already has stays allowed, so a point whose system was deactivated can
    still be edited (its mail goes to the default system meanwhile).
    """
    if system is None or (current is not None and system.pk == current.pk):
        return None
    if system.organisation_id != organisation.pk:
        return gettext("The recipient system belongs to another organisation.")
    if system.kind != System.Kind.RECIPIENT:
        return gettext("This is a sender system; mail can only go to a recipient system.")
    if not system.is_active:
        return gettext("This recipient system is deactivated.")
    return None


def recipient_systems_for(organisation: Organisation, current: System | None = None):
    """The systems a contact point or routing rule of ``organisation`` may send its mail to."""
    condition = Q(organisation=organisation, kind=System.Kind.RECIPIENT, status=System.Status.ACTIVE)
    if current is not None:
        condition |= Q(pk=current.pk)
    return System.objects.filter(condition).order_by("name")


def _changes(instance, values: dict) -> dict[str, list]:
    """{field: [old, new]} for the values that differ, as JSON-friendly values."""
    changed = {}
    for name, new in values.items():
        old = getattr(instance, name)
        if old != new:
            changed[name] = [_plain(old), _plain(new)]
    return changed


def _plain(value):
    if isinstance(value, System):
        return str(value.system_id)
    if isinstance(value, ContactGroup):
        return value.pk
    return value


def _log(*, organisation: Organisation, actor_user: User | None, system: System | None = None, **details):
    event_log_write(
        tag=Event.Tag.CONTACT_STRUCTURE_CHANGED,
        organisation=organisation,
        system=system,
        actor_user=actor_user,
        details=details,
    )


def descendant_ids(group: ContactGroup) -> set[int]:
    children: dict[int | None, list[int]] = {}
    for pk, parent_id in ContactGroup.objects.filter(organisation_id=group.organisation_id).values_list(
        "pk", "parent_id"
    ):
        children.setdefault(parent_id, []).append(pk)
    found, todo = set(), [group.pk]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _group_errors(
    *, organisation: Organisation, label: str, parent: ContactGroup | None, group: ContactGroup | None = None
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not organisation.is_authority:
        errors["label"] = gettext("Only authorities have a contact structure.")
    message = group_label_error(label)
    if message:
        errors["label"] = message
    if parent is not None:
        if parent.organisation_id != organisation.pk:
            errors["parent"] = gettext("The group belongs to another organisation.")
        elif group is not None and (parent.pk == group.pk or parent.pk in descendant_ids(group)):
            errors["parent"] = gettext("A group cannot be moved into itself or one of its own groups.")
    if "label" not in errors:
        siblings = ContactGroup.objects.filter(organisation=organisation, parent=parent, label=label)
        if group is not None:
            siblings = siblings.exclude(pk=group.pk)
        if siblings.exists():
            errors["label"] = gettext("There is already a group with this label here.")
    return errors


def _next_position(organisation: Organisation, parent: ContactGroup | None) -> int:
    last = (
        ContactGroup.objects.filter(organisation=organisation, parent=parent)
        .order_by("-position")
        .values_list("position", flat=True)
        .first()
    )
    return 0 if last is None else last + 1


@transaction.atomic
def contact_group_create(
    *,
    organisation: Organisation,
    label: str,
    parent: ContactGroup | None = None,
    info_text: str = "",
    is_visible: bool = True,
    position: int | None = None,
    actor_user: User | None = None,
) -> ContactGroup:
    """Create a group under ``parent`` (top level if None), last among its siblings by default."""
    label = label.strip()
    errors = _group_errors(organisation=organisation, label=label, parent=parent)
    if errors:
        raise ValidationError(errors)
    group = ContactGroup.objects.create(
        organisation=organisation,
        parent=parent,
        label=label,
        info_text=info_text.strip(),
        is_visible=is_visible,
        position=_next_position(organisation, parent) if position is None else position,
    )
    _log(
        organisation=organisation,
        actor_user=actor_user,
        action="contact_group_created",
        groupId=group.pk,
        label=label,
        parentId=parent.pk if parent else None,
    )
    return group


@transaction.atomic
def contact_group_update(
    *,
    group: ContactGroup,
    label: str,
    parent: ContactGroup | None,
    info_text: str,
    is_visible: bool,
    position: int,
    actor_user: User | None = None,
) -> ContactGroup:
    """Change a group, including moving it under another parent or to another position."""
    label = label.strip()
    organisation = group.organisation
    errors = _group_errors(organisation=organisation, label=label, parent=parent, group=group)
    if position < 0:
        errors["position"] = gettext("The position cannot be negative.")
    if errors:
        raise ValidationError(errors)
    values = {
        "label": label,
        "parent": parent,
        "info_text": info_text.strip(),
        "is_visible": is_visible,
        "position": position,
    }
    changes = _changes(group, values)
    if not changes:
        return group
    for name, value in values.items():
        setattr(group, name, value)
    group.save(update_fields=list(values))
    _log(
        organisation=organisation,
        actor_user=actor_user,
        action="contact_group_changed",
        groupId=group.pk,
        label=label,
        changes=changes,
    )
    return group


@transaction.atomic
def contact_group_shift(*, group: ContactGroup, step: int, actor_user: User | None = None) -> ContactGroup:
    """Move a group one place up (``step=-1``) or down (``step=1``) among its siblings."""
    siblings = list(
        ContactGroup.objects.select_for_update()
        .filter(organisation_id=group.organisation_id, parent_id=group.parent_id)
        .order_by("position", "label", "pk")
    )
    index = next(i for i, sibling in enumerate(siblings) if sibling.pk == group.pk)
    target = index + step
    if not 0 <= target < len(siblings):
        return group
    siblings.insert(target, siblings.pop(index))
    for position, sibling in enumerate(siblings):
        if sibling.position != position:
            sibling.position = position
            sibling.save(update_fields=["position"])
    _log(
        organisation=group.organisation,
        actor_user=actor_user,
        action="contact_group_moved",
        groupId=group.pk,
        label=group.label,
        position=target,
    )
    group.refresh_from_db()
    return group


@transaction.atomic
def contact_group_delete(*, group: ContactGroup, actor_user: User | None = None) -> None:
    """Delete an empty group. A group that still holds groups or contact points is refused,
    so deleting never takes contact points with it by surprise."""
    groups = group.children.count()
    points = group.contact_points.count()
    if groups or points:
        raise ValidationError(
            gettext(
                "“%(label)s” still holds %(groups)s groups and %(points)s contact points. "
                "Move or delete them first."
            )
            % {"label": group.label, "groups": groups, "points": points}
        )
    _log(
        organisation=group.organisation,
        actor_user=actor_user,
        action="contact_group_deleted",
        groupId=group.pk,
        label=group.label,
    )
    group.delete()


#: The fields of a contact point the editor and an import may set.
CONTACT_POINT_FIELDS = (
    "contact_point_id",
    "label",
    "group",
    "info_text",
    "keywords",
    "kle_codes",
    "field1_label",
    "field1_required",
    "field2_label",
    "field2_required",
    "max_size_bytes",
    "max_attachments",
    "is_visible",
    "is_active",
    "recipient_system",
)


@transaction.atomic
def contact_point_update(
    *,
    contact_point: ContactPoint,
    contact_point_id: str,
    label: str,
    group: ContactGroup | None,
    info_text: str,
    keywords: Iterable[str],
    kle_codes: Iterable[str],
    field1_label: str,
    field1_required: bool,
    field2_label: str,
    field2_required: bool,
    max_size_bytes: int,
    max_attachments: int,
    is_visible: bool,
    is_active: bool,
    recipient_system: System | None,
    actor_user: User | None = None,
) -> ContactPoint:
    """Change a contact point; moving it to another group is changing ``group``."""
    organisation = contact_point.organisation
    values = {
        "contact_point_id": contact_point_id.strip(),
        "label": label.strip(),
        "group": group,
        "info_text": info_text.strip(),
        "keywords": _clean_list(keywords),
        "kle_codes": _clean_list(kle_codes),
        "field1_label": field1_label.strip(),
        "field1_required": field1_required,
        "field2_label": field2_label.strip(),
        "field2_required": field2_required,
        "max_size_bytes": max_size_bytes,
        "max_attachments": max_attachments,
        "is_visible": is_visible,
        "is_active": is_active,
        "recipient_system": recipient_system,
    }
    errors = contact_point_field_errors(
        **{
            k: values[k]
            for k in (
                "contact_point_id",
                "label",
                "kle_codes",
                "field1_label",
                "field1_required",
                "field2_label",
                "field2_required",
                "max_size_bytes",
                "max_attachments",
            )
        }
    )
    if group is not None and group.organisation_id != organisation.pk:
        errors["group"] = gettext("The group belongs to another organisation.")
    message = recipient_system_error(
        organisation=organisation, system=recipient_system, current=contact_point.recipient_system
    )
    if message:
        errors["recipient_system"] = message
    new_id = values["contact_point_id"]
    same_id = ContactPoint.objects.filter(organisation=organisation, contact_point_id=new_id)
    if "contact_point_id" not in errors and same_id.exclude(pk=contact_point.pk).exists():
        errors["contact_point_id"] = gettext("Another contact point already has this id.")
    if errors:
        raise ValidationError(errors)
    changes = _changes(contact_point, values)
    if not changes:
        return contact_point
    for name, value in values.items():
        setattr(contact_point, name, value)
    contact_point.save(update_fields=list(values))
    _log(
        organisation=organisation,
        actor_user=actor_user,
        system=recipient_system,
        action="contact_point_changed",
        contactPointId=contact_point.contact_point_id,
        changes=changes,
    )
    return contact_point


@transaction.atomic
def contact_point_delete(*, contact_point: ContactPoint, actor_user: User | None = None) -> None:
    """Delete a contact point and its routing rules. Mail already sent to it is not touched."""
    _log(
        organisation=contact_point.organisation,
        actor_user=actor_user,
        action="contact_point_deleted",
        contactPointId=contact_point.contact_point_id,
        label=contact_point.label,
    )
    contact_point.delete()


def _rule_errors(
    *,
    contact_point: ContactPoint,
    kle_prefix: str,
    content_key: str,
    content_value: str,
    recipient_system: System | None,
    priority: int,
    current: System | None = None,
) -> dict[str, str]:
    errors: dict[str, str] = {}
    if not kle_prefix and not content_key:
        errors["kle_prefix"] = gettext("A rule needs a KLE prefix or a content key.")
    if kle_prefix:
        message = kle_code_error(kle_prefix)
        if message:
            errors["kle_prefix"] = message
    if content_value and not content_key:
        errors["content_key"] = gettext("A content value needs a content key.")
    if len(content_key) > _max_length(RoutingRule, "content_key"):
        errors["content_key"] = gettext("A content key is at most 100 characters.")
    if len(content_value) > _max_length(RoutingRule, "content_value"):
        errors["content_value"] = gettext("A content value is at most 200 characters.")
    if recipient_system is None:
        errors["recipient_system"] = gettext("Choose the recipient system the mail goes to.")
    else:
        message = recipient_system_error(
            organisation=contact_point.organisation, system=recipient_system, current=current
        )
        if message:
            errors["recipient_system"] = message
    if not 0 <= priority <= 32767:
        errors["priority"] = gettext("The priority must be between 0 and 32767.")
    return errors


@transaction.atomic
def routing_rule_create(
    *,
    contact_point: ContactPoint,
    recipient_system: System | None,
    kle_prefix: str = "",
    content_key: str = "",
    content_value: str = "",
    priority: int = 100,
    actor_user: User | None = None,
) -> RoutingRule:
    """Route the point's mail matching a KLE prefix or a content key/value to another system."""
    kle_prefix, content_key, content_value = kle_prefix.strip(), content_key.strip(), content_value.strip()
    errors = _rule_errors(
        contact_point=contact_point,
        kle_prefix=kle_prefix,
        content_key=content_key,
        content_value=content_value,
        recipient_system=recipient_system,
        priority=priority,
    )
    if errors:
        raise ValidationError(errors)
    rule = RoutingRule.objects.create(
        contact_point=contact_point,
        kle_prefix=kle_prefix,
        content_key=content_key,
        content_value=content_value,
        recipient_system=recipient_system,
        priority=priority,
    )
    _log(
        organisation=contact_point.organisation,
        actor_user=actor_user,
        system=recipient_system,
        action="routing_rule_created",
        contactPointId=contact_point.contact_point_id,
        ruleId=rule.pk,
        kle_prefix=kle_prefix,
        content_key=content_key,
        content_value=content_value,
        priority=priority,
    )
    return rule


@transaction.atomic
def routing_rule_update(
    *,
    rule: RoutingRule,
    recipient_system: System | None,
    kle_prefix: str,
    content_key: str,
    content_value: str,
    priority: int,
    actor_user: User | None = None,
) -> RoutingRule:
    values = {
        "kle_prefix": kle_prefix.strip(),
        "content_key": content_key.strip(),
        "content_value": content_value.strip(),
        "recipient_system": recipient_system,
        "priority": priority,
    }
    errors = _rule_errors(contact_point=rule.contact_point, current=rule.recipient_system, **values)
    if errors:
        raise ValidationError(errors)
    changes = _changes(rule, values)
    if not changes:
        return rule
    for name, value in values.items():
        setattr(rule, name, value)
    rule.save(update_fields=list(values))
    _log(
        organisation=rule.contact_point.organisation,
        actor_user=actor_user,
        system=recipient_system,
        action="routing_rule_changed",
        contactPointId=rule.contact_point.contact_point_id,
        ruleId=rule.pk,
        changes=changes,
    )
    return rule


@transaction.atomic
def routing_rule_delete(*, rule: RoutingRule, actor_user: User | None = None) -> None:
    _log(
        organisation=rule.contact_point.organisation,
        actor_user=actor_user,
        action="routing_rule_deleted",
        contactPointId=rule.contact_point.contact_point_id,
        ruleId=rule.pk,
    )
    rule.delete()


# --- Importing a file -------------------------------------------------------------------------
# Upload -> check every row (task) -> staff confirm -> apply in one transaction (task).
# The job row carries the file, the progress and the report; each step moves its status on
# with a conditional update, so a task delivered twice does its work once.

#: The stored report stops here; the count of errors is always right.
MAX_REPORTED_ERRORS = 1000


def import_job_create(
    *,
    organisation: Organisation,
    file_name: str,
    data: bytes,
    actor_user: User | None = None,
    language: str = "",
) -> ImportJob:
    """Store an uploaded file as a job and queue its check. Refuses files that are not XLSX or
    CSV or are too big (``ValidationError`` on ``file``); nothing is stored then."""
    from contactstructure import importexport
    from contactstructure.tasks import validate_import_job

    try:
        file_format = importexport.detect_format(file_name, data)
    except importexport.ImportFileError as error:
        raise ValidationError({"file": str(error)}) from None
    job = ImportJob.objects.create(
        organisation=organisation,
        created_by=actor_user,
        file_name=file_name[: _max_length(ImportJob, "file_name")],
        file_format=file_format,
        data=data,
        language=language[: _max_length(ImportJob, "language")],
    )
    enqueue_after_commit(validate_import_job, job.pk)
    return job


def _finish_check(job_id: int, status: str, plan, errors: list[dict], *, expected: str) -> None:
    # Only from the step that is finishing: a late duplicate task must not undo a later step.
    ImportJob.objects.filter(pk=job_id, status=expected).update(
        status=status,
        processed_rows=plan.total_rows if plan else 0,
        total_rows=plan.total_rows if plan else 0,
        created_count=plan.created if plan else 0,
        updated_count=plan.updated if plan else 0,
        unchanged_count=plan.unchanged if plan else 0,
        groups_created_count=len(plan.new_groups) if plan else 0,
        errors=_capped(errors),
        error_count=len(errors),
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )


def _capped(errors: list[dict]) -> list[dict]:
    if len(errors) <= MAX_REPORTED_ERRORS:
        return errors
    rest = len(errors) - MAX_REPORTED_ERRORS
    more = gettext("…and %(count)s more errors.") % {"count": rest}
    return [*errors[:MAX_REPORTED_ERRORS], {"row": 0, "column": "", "message": more}]


def _plan_for(job: ImportJob, progress=None):
    """Read and check the job's file; (plan, None) or (None, errors) if the file is unreadable."""
    from contactstructure import importexport

    try:
        rows = importexport.read_file(bytes(job.data), job.file_format)
    except importexport.ImportFileError as error:
        return None, [{"row": 0, "column": "", "message": str(error)}]
    ImportJob.objects.filter(pk=job.pk).update(
        total_rows=max(len(rows) - 1, 0), processed_rows=0, updated_at=timezone.now()
    )
    return importexport.plan_import(organisation=job.organisation, rows=rows, progress=progress), None


def import_job_validate(*, job_id: int) -> None:
    """Check every row of the job's file and store the report. Writes nothing else."""
    # A check that a lost worker left half done may simply run again: it writes only the job.
    claimed = ImportJob.objects.filter(
        pk=job_id, status__in=[ImportJob.Status.PENDING, ImportJob.Status.VALIDATING]
    ).update(status=ImportJob.Status.VALIDATING, updated_at=timezone.now())
    if claimed != 1:
        return
    job = ImportJob.objects.select_related("organisation").get(pk=job_id)
    with translation.override(job.language or settings.LANGUAGE_CODE):
        _validate(job)


def _validate(job: ImportJob) -> None:
    job_id = job.pk

    def progress(done: int) -> None:
        ImportJob.objects.filter(pk=job_id).update(processed_rows=done, updated_at=timezone.now())

    try:
        plan, file_errors = _plan_for(job, progress=progress)
    except Exception:
        log.exception("Checking import job %s failed", job_id)
        _finish_check(
            job_id,
            ImportJob.Status.FAILED,
            None,
            [{"row": 0, "column": "", "message": gettext("The file could not be checked.")}],
            expected=ImportJob.Status.VALIDATING,
        )
        return
    validating = ImportJob.Status.VALIDATING
    if file_errors:
        _finish_check(job_id, ImportJob.Status.INVALID, None, file_errors, expected=validating)
    elif plan.errors:
        _finish_check(job_id, ImportJob.Status.INVALID, plan, plan.errors, expected=validating)
    else:
        _finish_check(job_id, ImportJob.Status.VALID, plan, [], expected=validating)


def import_job_confirm(*, job: ImportJob, actor_user: User | None = None) -> bool:
    """The staff member confirms a checked file: queue applying it. False if it was not ready
    (not valid, or already confirmed); confirming twice applies once."""
    from contactstructure.tasks import apply_import_job

    confirmed = ImportJob.objects.filter(pk=job.pk, status=ImportJob.Status.VALID).update(
        status=ImportJob.Status.APPLYING, processed_rows=0, confirmed_by=actor_user, updated_at=timezone.now()
    )
    if confirmed != 1:
        return False
    enqueue_after_commit(apply_import_job, job.pk)
    return True


def import_job_apply(*, job_id: int) -> None:
    """Apply a confirmed file in one transaction, checking it again first: the structure may
    have changed since. If any row is wrong now, nothing is applied and the report says why."""
    job = (
        ImportJob.objects.select_related("organisation", "created_by", "confirmed_by")
        .filter(pk=job_id)
        .first()
    )
    if job is None or job.status != ImportJob.Status.APPLYING:
        return
    with translation.override(job.language or settings.LANGUAGE_CODE):
        _apply(job)


def import_job_restart(*, job: ImportJob) -> bool:
    """Queue the step of a job that no task seems to be working on (a lost task, a broker that
    was down). Harmless if the task was only slow: each step does its work once."""
    from contactstructure.tasks import apply_import_job, validate_import_job

    if not job.looks_stuck:
        return False
    ImportJob.objects.filter(pk=job.pk).update(updated_at=timezone.now())
    task = apply_import_job if job.status == ImportJob.Status.APPLYING else validate_import_job
    enqueue_after_commit(task, job.pk)
    return True


def _apply(job: ImportJob) -> None:
    job_id = job.pk
    with transaction.atomic():
        # Claim first: the update locks the job row, so a second run waits here and then finds
        # nothing to claim; the rows are checked and applied under that one lock.
        claimed = ImportJob.objects.filter(pk=job_id, status=ImportJob.Status.APPLYING).update(
            updated_at=timezone.now()
        )
        if claimed != 1:
            return
        plan, file_errors = _plan_for(job)
        errors = file_errors or (plan.errors if plan else [])
        if errors:
            _finish_check(job_id, ImportJob.Status.INVALID, plan, errors, expected=ImportJob.Status.APPLYING)
            return
        _apply_plan(job=job, plan=plan)
        ImportJob.objects.filter(pk=job_id).update(
            status=ImportJob.Status.APPLIED,
            processed_rows=plan.total_rows,
            total_rows=plan.total_rows,
            created_count=plan.created,
            updated_count=plan.updated,
            unchanged_count=plan.unchanged,
            groups_created_count=len(plan.new_groups),
            errors=[],
            error_count=0,
            data=b"",
            finished_at=timezone.now(),
            updated_at=timezone.now(),
        )


def _apply_plan(*, job: ImportJob, plan) -> None:
    from contactstructure import importexport

    organisation = job.organisation
    groups = {path: pk for pk, path in importexport.group_paths(organisation).items()}
    group_objects = {g.pk: g for g in ContactGroup.objects.filter(organisation=organisation)}
    for path in plan.new_groups:
        parent = group_objects[groups[path[:-1]]] if len(path) > 1 else None
        group = ContactGroup.objects.create(
            organisation=organisation,
            parent=parent,
            label=path[-1],
            position=_next_position(organisation, parent),
        )
        groups[path] = group.pk
        group_objects[group.pk] = group

    created, updated = [], []
    for planned in plan.points:
        if not planned.changed:
            continue
        values = dict(planned.values)
        path = values.pop("group")
        values["group"] = group_objects[groups[path]] if path else None
        if planned.existing is None:
            created.append(ContactPoint(organisation=organisation, **values))
        else:
            point = planned.existing
            for name, value in values.items():
                setattr(point, name, value)
            updated.append(point)
    ContactPoint.objects.bulk_create(created, batch_size=500)
    ContactPoint.objects.bulk_update(updated, fields=list(CONTACT_POINT_FIELDS), batch_size=500)
    if created or updated or plan.new_groups:
        _log(
            organisation=organisation,
            actor_user=job.confirmed_by or job.created_by,
            action="contact_structure_imported",
            importJobId=job.pk,
            fileName=job.file_name,
            created=[p.contact_point_id for p in created],
            updated=[p.contact_point_id for p in updated],
            groupsCreated=[GROUP_PATH_SEPARATOR.join(path) for path in plan.new_groups],
        )
