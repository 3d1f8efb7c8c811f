"""Whose mailbox is this request acting in, and may it?

A person logged in to the inbox acts in one mailbox at a time: their own, one they hold read
or read-write access to (fuldmagt), or a company mailbox they work in as an employee. The
choice lives in the session; the right to it is checked again on every request, so access
that has expired or been revoked stops at once, not at the next login.

Views never look at ``MailboxAccess`` themselves: they take the :class:`MailboxContext` that
:func:`mailbox_required` puts on the request, and ask it ``can_write``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.shortcuts import redirect
from django.utils import timezone

from mailbox.models import Mailbox
from rights.models import MailboxAccess, Person

SESSION_KEY = "acting_mailbox_id"


@dataclass(frozen=True)
class MailboxContext:
    """The mailbox a request acts in, who acts, and with what right."""

    mailbox: Mailbox
    actor: Person
    # "OWNER", or a MailboxAccess.Level.
    level: str
    access: MailboxAccess | None = None

    @property
    def is_owner(self) -> bool:
        return self.level == "OWNER"

    @property
    def is_representative(self) -> bool:
        """Acting in somebody else's mailbox: every read is logged for the owner to see."""
        return not self.is_owner

    @property
    def can_write(self) -> bool:
        return self.level in ("OWNER", MailboxAccess.Level.READ_WRITE)

    @property
    def is_company(self) -> bool:
        return self.mailbox.owner_organisation_id is not None

    @property
    def owner_label(self) -> str:
        return self.mailbox.owner.name


def person_for_user(user) -> Person | None:
    if not user.is_authenticated:
        return None
    return Person.objects.filter(user=user).select_related("mailbox").first()


def _live_accesses(person: Person, at=None):
    at = at or timezone.now()
    return (
        MailboxAccess.objects.filter(grantee=person, revoked_at__isnull=True, valid_from__lte=at)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=at))
        .filter(mailbox__status=Mailbox.Status.ACTIVE)
        .select_related("mailbox__owner_person", "mailbox__owner_organisation")
    )


def mailboxes_available(person: Person) -> list[MailboxContext]:
    """Every mailbox this person may act in right now: their own first, then by owner name."""
    own = [MailboxContext(mailbox=person.mailbox, actor=person, level="OWNER")]
    others = [
        MailboxContext(mailbox=a.mailbox, actor=person, level=a.level, access=a)
        for a in _live_accesses(person)
    ]
    return own + sorted(others, key=lambda c: c.owner_label)


def mailbox_context_for(person: Person, mailbox_id: int | None) -> MailboxContext | None:
    """The context for one mailbox, or None if the person may not act in it now."""
    if mailbox_id is None or mailbox_id == person.mailbox.pk:
        return MailboxContext(mailbox=person.mailbox, actor=person, level="OWNER")
    access = _live_accesses(person).filter(mailbox_id=mailbox_id).first()
    if access is None:
        return None
    return MailboxContext(mailbox=access.mailbox, actor=person, level=access.level, access=access)


def mailbox_required(view=None, *, write: bool = False):
    """Decorate an inbox view: log in first, then act in the session's chosen mailbox.

    ``request.mailbox_context`` is set for the view. A chosen mailbox the person may no longer
    use falls back to their own (and the choice is forgotten). ``write=True`` refuses read-only
    access with 403.
    """

    def decorate(view_func):
        @functools.wraps(view_func)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                from django.contrib.auth.views import redirect_to_login

                return redirect_to_login(request.get_full_path())
            person = person_for_user(request.user)
            if person is None or not hasattr(person, "mailbox"):
                raise Http404("This login has no mailbox.")
            context = mailbox_context_for(person, request.session.get(SESSION_KEY))
            if context is None:
                request.session.pop(SESSION_KEY, None)
                context = mailbox_context_for(person, None)
            if write and not context.can_write:
                raise PermissionDenied("Read access does not allow writing in this mailbox.")
            request.mailbox_context = context
            return view_func(request, *args, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate


def mailbox_switch(request, mailbox_id: int):
    """Choose the mailbox to act in; refuses (403) a mailbox the person may not use."""
    person = person_for_user(request.user)
    if person is None:
        raise Http404("This login has no mailbox.")
    context = mailbox_context_for(person, mailbox_id)
    if context is None:
        raise PermissionDenied("You have no access to that mailbox.")
    if context.is_owner:
        request.session.pop(SESSION_KEY, None)
    else:
        request.session[SESSION_KEY] = context.mailbox.pk
    return redirect("inbox")
