"""The sections of Administrativ Adgang, and which roles see each in the menu.

Each section's views check their own roles (``staff_required``); this list only decides what
the menu shows. A section whose URL is not installed is left out of the menu.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from adminaccess.access import Role, StaffContext


@dataclass(frozen=True)
class Section:
    url_name: str
    label: str
    roles: tuple[str, ...]


SECTIONS = [
    Section("adminaccess:home", _("Overview"), ()),
    Section("adminaccess:systems", _("Systems"), (Role.SYSTEM_ADMINISTRATOR,)),
    Section(
        "adminaccess:contact-structure",
        _("Contact structure"),
        (Role.CONTACT_STRUCTURE_ADMINISTRATOR,),
    ),
    Section("adminaccess:events", _("Event log"), (Role.EVENT_LOG_READER,)),
    Section("adminaccess:recall", _("Recall"), (Role.RECALL_ADMINISTRATOR,)),
    Section(
        "adminaccess:statistics", _("Usage statistics"), (Role.EVENT_LOG_READER, Role.SYSTEM_ADMINISTRATOR)
    ),
    Section("adminaccess:logo", _("Logo"), (Role.SYSTEM_ADMINISTRATOR,)),
    Section("adminaccess:citizen-service", _("Citizen service"), (Role.CITIZEN_SERVICE,)),
    Section("adminaccess:test-portal", _("Test portal"), (Role.SYSTEM_ADMINISTRATOR,)),
    Section("adminaccess:roles", _("Users and roles"), (Role.USER_ADMINISTRATOR,)),
]


def sections_for(staff: StaffContext) -> list[dict]:
    visible = []
    for section in SECTIONS:
        if section.roles and not staff.has(*section.roles):
            continue
        try:
            url = reverse(section.url_name)
        except NoReverseMatch:
            continue
        visible.append({"url": url, "label": section.label, "url_name": section.url_name})
    return visible
