"""Logging in. The development login stands in for MitID where settings allow it."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import login
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from rights.models import Person


def _describe(person: Person) -> str:
    roles = sorted({f"{r.get_role_display()} – {r.organisation.name}" for r in person.user.staff_roles.all()})
    return "; ".join(roles) if roles else f"CPR {person.cpr[:6]}-{person.cpr[6:]}"


@require_http_methods(["GET", "POST"])
def dev_login(request):
    if not settings.DIGITALPOST_DEV_LOGIN:
        raise Http404("The development login is not enabled.")
    if request.method == "POST":
        person = get_object_or_404(Person, pk=request.POST.get("person"), user__isnull=False)
        login(request, person.user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(request.GET.get("next") or "home")
    people = list(
        Person.objects.filter(user__isnull=False)
        .select_related("user")
        .prefetch_related("user__staff_roles__organisation")
        .order_by("name")
    )
    for person in people:
        person.describe = _describe(person)
    return render(request, "rights/dev_login.html", {"people": people})
