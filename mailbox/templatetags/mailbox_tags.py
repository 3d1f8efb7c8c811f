"""The inbox menu (folders with unread counts, the mailbox switcher, links to other areas)."""

from __future__ import annotations

from datetime import date, datetime

from django import template
from django.utils.dates import MONTHS_3

from mailbox.access import mailboxes_available
from mailbox.models import Folder
from mailbox.navigation import links_for, url_or_none
from mailbox.selectors import folders_with_unread

register = template.Library()


def folder_url(folder: Folder) -> str:
    if folder.kind == Folder.Kind.DRAFTS:
        drafts = url_or_none("drafts")
        if drafts:
            return drafts
    if folder.kind == Folder.Kind.INBOX:
        return url_or_none("inbox")
    return url_or_none("folder", folder.pk)


@register.inclusion_tag("mailbox/_menu.html", takes_context=True)
def mailbox_menu(context):
    request = context["request"]
    mailbox_context = getattr(request, "mailbox_context", None)
    if mailbox_context is None:
        return {"mailbox_context": None}
    # A view that already read the folders hands them over; otherwise one query here.
    folders = context.get("folders") or folders_with_unread(mailbox=mailbox_context.mailbox)
    current_folder = context.get("folder")
    links = links_for(mailbox_context)
    view_name = request.resolver_match.view_name if request.resolver_match else ""
    for link in links:
        link["current"] = view_name == link["url_name"] or view_name.startswith(link["url_name"] + "-")
    entries = []
    for folder in folders:
        current = current_folder is not None and current_folder.pk == folder.pk
        if folder.kind == Folder.Kind.DRAFTS and view_name.startswith("draft"):
            current = True
        entries.append({"folder": folder, "url": folder_url(folder), "current": current})
    return {
        "mailbox_context": mailbox_context,
        "folders": entries,
        "links": links,
        "available": mailboxes_available(mailbox_context.actor),
        "folders_url": url_or_none("folders"),
        "request": request,
    }


@register.simple_tag
def url_if_installed(url_name, *args):
    """The URL, or "" where that view is not installed (yet)."""
    return url_or_none(url_name, *args) or ""


@register.filter
def folder_label(folder: Folder) -> str:
    """A standard folder's translated name; an own folder's own name."""
    if folder.kind == Folder.Kind.CUSTOM:
        return folder.name
    return Folder.Kind(folder.kind).label


@register.filter
def parse_iso(value):
    """A stored ISO 8601 timestamp (e.g. an appointment's start) as an aware datetime."""
    from django.utils import timezone

    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    return timezone.localtime(parsed) if timezone.is_aware(parsed) else parsed


@register.filter
def is_web_url(value: str) -> bool:
    """Only http(s) links from a sender become links: never javascript: or data:."""
    return isinstance(value, str) and value.lower().startswith(("https://", "http://"))


@register.filter(expects_localtime=True)
def iso_datetime(value) -> str:
    """``|date:"c"`` for a datetime, without the format parser (a listing formats 50 dates)."""
    return value.isoformat() if isinstance(value, datetime) else ""


@register.filter(expects_localtime=True)
def day_month_year(value) -> str:
    """``|date:"j M Y"`` (e.g. "1 Dec 2026", the month in the active language), no parser."""
    if not isinstance(value, date):
        return ""
    return f"{value.day} {MONTHS_3[value.month].title()} {value.year:04d}"
