"""The front page of Administrativ Adgang and the organisation switcher."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_POST

from adminaccess.access import SESSION_KEY, Role, staff_required
from adminaccess.navigation import sections_for


@staff_required()
def home(request):
    labels = dict(Role.choices)
    roles_display = sorted(str(labels[role]) for role in request.staff.roles)
    return render(
        request,
        "adminaccess/home.html",
        {"sections": sections_for(request.staff)[1:], "roles_display": roles_display},
    )


@require_POST
@staff_required()
def switch_organisation(request):
    try:
        organisation_id = int(request.POST.get("organisation", ""))
    except ValueError:
        raise PermissionDenied("No such organisation.") from None
    if organisation_id not in {o.pk for o in request.staff.organisations}:
        raise PermissionDenied("You hold no staff role in that organisation.")
    request.session[SESSION_KEY] = organisation_id
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = "adminaccess:home"
    return redirect(target)
