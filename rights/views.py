"""Logging in: MitID through OpenID Connect where configured, and the development login.

The development login stands in for MitID where ``settings.DIGITALPOST_DEV_LOGIN`` allows it
(development, the embedded default and tests; production refuses to start with it). It lets
one pick a demo person, grouped by who they are, or give any known CPR number.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import login
from django.db.models import Prefetch, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render, resolve_url
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from rights.account import person_user_ensure
from rights.models import MailboxAccess, Organisation, Person, StaffRole

#: How many people each group of the development login lists; the rest log in by CPR.
GROUP_SIZE = 25


@dataclass
class Choice:
    person: Person
    lines: list[str] = field(default_factory=list)

    @property
    def cpr(self) -> str:
        return f"{self.person.cpr[:6]}-{self.person.cpr[6:]}"


def _safe_next(request) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return resolve_url(settings.LOGIN_REDIRECT_URL)


def _login_choices() -> dict[str, list[Choice]]:
    """Demo people in three groups: authority staff, company employees, citizens."""
    now = timezone.now()
    live = (
        MailboxAccess.objects.filter(revoked_at__isnull=True, valid_from__lte=now)
        .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))
        .select_related("mailbox__owner_person", "mailbox__owner_organisation")
    )
    people = (
        Person.objects.filter(user__isnull=False, user__is_active=True)
        .select_related("user")
        .prefetch_related(
            Prefetch("user__staff_roles", queryset=StaffRole.objects.select_related("organisation")),
            Prefetch("mailbox_accesses", queryset=live, to_attr="live_accesses"),
        )
        .order_by("name")
    )
    groups: dict[str, list[Choice]] = {"staff": [], "employees": [], "citizens": []}
    for person in people[: GROUP_SIZE * 6]:
        choice = Choice(person=person)
        by_organisation: dict[Organisation, list[str]] = {}
        for role in person.user.staff_roles.all():
            by_organisation.setdefault(role.organisation, []).append(str(role.get_role_display()))
        authority_roles = {o: r for o, r in by_organisation.items() if o.is_authority}
        employee_of = [a for a in person.live_accesses if a.kind == MailboxAccess.Kind.EMPLOYEE]
        for organisation, roles in sorted(authority_roles.items(), key=lambda item: item[0].name):
            choice.lines.append(
                _("%(organisation)s: %(roles)s")
                % {"organisation": organisation.name, "roles": ", ".join(sorted(roles))}
            )
        for access in employee_of:
            choice.lines.append(
                _("Employee of %(company)s (%(level)s)")
                % {"company": access.mailbox.owner.name, "level": access.get_level_display().lower()}
            )
        for organisation, roles in by_organisation.items():
            if not organisation.is_authority:
                choice.lines.append(
                    _("%(organisation)s: %(roles)s")
                    % {"organisation": organisation.name, "roles": ", ".join(sorted(roles))}
                )
        for access in person.live_accesses:
            if access.kind == MailboxAccess.Kind.DELEGATION:
                choice.lines.append(
                    _("May read mail for %(owner)s (%(level)s)")
                    % {"owner": access.mailbox.owner.name, "level": access.get_level_display().lower()}
                )
        if authority_roles:
            group = "staff"
        elif employee_of or by_organisation:
            group = "employees"
        else:
            group = "citizens"
        if len(groups[group]) < GROUP_SIZE:
            groups[group].append(choice)
    return groups


def _log_in(request, person: Person):
    user = person_user_ensure(person=person)
    login(request, user, backend="django.contrib.auth.backends.ModelBackend")
    return redirect(_safe_next(request))


@require_http_methods(["GET", "POST"])
def dev_login(request):
    """The login page: MitID (when configured) and, where allowed, the development login."""
    if not (settings.DIGITALPOST_DEV_LOGIN or settings.OIDC_ENABLED):
        raise Http404("No way of logging in is enabled.")
    cpr_error = ""
    if request.method == "POST":
        if not settings.DIGITALPOST_DEV_LOGIN:
            raise Http404("The development login is not enabled.")
        if request.POST.get("person"):
            return _log_in(request, get_object_or_404(Person, pk=request.POST["person"], user__isnull=False))
        cpr = "".join(ch for ch in request.POST.get("cpr", "") if ch.isdigit())
        person = Person.objects.filter(cpr=cpr).first() if len(cpr) == 10 else None
        if person is not None:
            return _log_in(request, person)
        cpr_error = _("No person with this CPR number uses Digital Post.")
    context = {
        "oidc_enabled": settings.OIDC_ENABLED,
        "dev_login": settings.DIGITALPOST_DEV_LOGIN,
        "groups": _login_choices() if settings.DIGITALPOST_DEV_LOGIN else {},
        "next": _safe_next(request) if (request.GET.get("next") or request.POST.get("next")) else "",
        "cpr_value": request.POST.get("cpr", ""),
        "cpr_error": cpr_error,
    }
    return render(request, "rights/dev_login.html", context, status=400 if cpr_error else 200)
