"""Links from the inbox to the other areas of the mailbox, each built elsewhere.

A link shows once its URL name resolves, so an area appears in the menu the moment its URLs
are installed. Areas that change the mailbox are shown only where the context can write.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext_lazy as _

from mailbox.access import MailboxContext


@dataclass(frozen=True)
class Link:
    url_name: str
    label: str
    # Shown only to a context that can write (owner, read-write access).
    write: bool = False
    # Shown only to the owner: managing one's own access, settings and devices.
    owner_only: bool = False
    # Shown only in a company mailbox.
    company_only: bool = False


LINKS = [
    Link("write", _("Write to an authority"), write=True),
    Link("access", _("Who can read my mail"), owner_only=True),
    Link("company-employees", _("Employees"), write=True, company_only=True),
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
        if link.company_only and not context.is_company:
            continue
        url = url_or_none(link.url_name)
        if url is not None:
            visible.append({"url": url, "label": link.label, "url_name": link.url_name})
    return visible
