"""Links from the inbox to the other areas of the mailbox, each built elsewhere.

A link shows once its URL name resolves, so an area appears in the menu the moment its URLs
are installed. Areas that change the mailbox are shown only where the context can write.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from mailbox.access import MailboxContext
from rights.models import StaffRole


@dataclass(frozen=True)
class Link:
    url_name: str
    label: str
    # Shown only to a context that can write (owner, read-write access).
    write: bool = False
    # Shown only to the owner: managing one's own access, settings and devices.
    owner_only: bool = False
    # Shown only in a company mailbox, to the company's user administrators.
    company_admin_only: bool = False


LINKS = [
    Link("write", _("Write to an authority"), write=True),
    Link("access", _("Who can read my mail"), owner_only=True),
    Link("company-employees", _("Employees"), company_admin_only=True),
    Link("settings", _("Settings"), owner_only=True),
    Link("devices", _("Devices and sessions"), owner_only=True),
]


def url_or_none(url_name: str, *args) -> str | None:
    """The URL of a view another area may or may not have installed yet."""
    try:
        return reverse(url_name, args=args)
    except NoReverseMatch:
        return None


def links_for(context: MailboxContext) -> list[dict]:
    visible = []
    for link in LINKS:
        if link.write and not context.can_write:
            continue
        if link.owner_only and not context.is_owner:
            continue
        if link.company_admin_only and not _is_company_admin(context):
            continue
        url = url_or_none(link.url_name)
        if url is not None:
            visible.append({"url": url, "label": link.label, "url_name": link.url_name})
    return visible


def _is_company_admin(context: MailboxContext) -> bool:
    """May manage the employees of the company whose mailbox this is (one query, company mailboxes only)."""
    if not context.is_company or context.actor.user_id is None:
        return False
    return StaffRole.objects.filter(
        user_id=context.actor.user_id,
        organisation_id=context.mailbox.owner_organisation_id,
        role=StaffRole.Role.USER_ADMINISTRATOR,
    ).exists()
