"""Who is this staff member working for, and which of its roles do they hold?

Staff work in one organisation at a time (Administrativ Adgang); one who works for several
switches between them, and the choice lives in the session. Roles are read from the database
on every request, so a removed role stops at once.

Views take the :class:`StaffContext` that :func:`staff_required` puts on the request and never
read ``StaffRole`` themselves.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied

from rights.models import Organisation, StaffRole

SESSION_KEY = "staff_organisation_id"
Role = StaffRole.Role

# Roles that make someone staff of an organisation in Administrativ Adgang. A company's
# mailbox user reads the company's mail in the inbox and has no business here.
STAFF_ROLES = frozenset(Role.values) - {Role.MAILBOX_USER}


@dataclass(frozen=True)
class StaffContext:
    organisation: Organisation
    roles: frozenset[str]
    # Every organisation this login holds a staff role in, for the switcher.
    organisations: list[Organisation] = field(default_factory=list)

    def has(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)


def staff_roles_by_organisation(user) -> dict[int, set[str]]:
    roles: dict[int, set[str]] = {}
    for organisation_id, role in StaffRole.objects.filter(user=user, role__in=STAFF_ROLES).values_list(
        "organisation_id", "role"
    ):
        roles.setdefault(organisation_id, set()).add(role)
    return roles


def staff_context_for(user, organisation_id: int | None) -> StaffContext | None:
    """The context for the chosen organisation (or the first one), None if not staff at all."""
    if not user.is_authenticated:
        return None
    roles = staff_roles_by_organisation(user)
    if not roles:
        return None
    organisations = list(Organisation.objects.filter(pk__in=roles).order_by("name"))
    chosen = next((o for o in organisations if o.pk == organisation_id), organisations[0])
    return StaffContext(organisation=chosen, roles=frozenset(roles[chosen.pk]), organisations=organisations)


def staff_required(*roles: str):
    """Decorate an Administrativ Adgang view: staff of the session's organisation holding any of
    ``roles`` (any staff role when none are named). Others get 403; anonymous users log in first.
    Sets ``request.staff``.
    """

    def decorate(view_func):
        @functools.wraps(view_func)
        def wrapper(request, *args, **kwargs):
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            context = staff_context_for(request.user, request.session.get(SESSION_KEY))
            if context is None:
                raise PermissionDenied("You hold no staff role in any organisation.")
            if roles and not context.has(*roles):
                raise PermissionDenied("Your role in this organisation does not allow this.")
            request.staff = context
            return view_func(request, *args, **kwargs)

        wrapper.staff_roles = roles  # read by the permission-matrix test
        return wrapper

    return decorate
