"""Users and roles (Rettighedsportalen): the organisation's staff, granted and removed by its
user administrators. The last user administrator stays (rights/services.py enforces it)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from adminaccess.access import Role, staff_required
from adminaccess.forms import RoleGrantForm
from rights.models import Person, StaffRole
from rights.services import staff_role_grant, staff_role_remove


def _staff_rows(organisation) -> list[dict]:
    roles = (
        StaffRole.objects.filter(organisation=organisation)
        .select_related("user", "granted_by")
        .order_by("user__first_name", "user_id", "role")
    )
    people = {p.user_id: p for p in Person.objects.filter(user__staff_roles__organisation=organisation)}
    rows: dict[int, dict] = {}
    for staff_role in roles:
        row = rows.setdefault(
            staff_role.user_id,
            {"user": staff_role.user, "person": people.get(staff_role.user_id), "roles": []},
        )
        row["roles"].append(staff_role)
    return list(rows.values())


def _render(request, form: RoleGrantForm, status: int = 200):
    organisation = request.staff.organisation
    administrators = StaffRole.objects.filter(organisation=organisation, role=Role.USER_ADMINISTRATOR).count()
    return render(
        request,
        "adminaccess/roles/list.html",
        {"rows": _staff_rows(organisation), "form": form, "administrators": administrators},
        status=status,
    )


@staff_required(Role.USER_ADMINISTRATOR)
def role_list(request):
    return _render(request, RoleGrantForm(organisation=request.staff.organisation))


@require_POST
@staff_required(Role.USER_ADMINISTRATOR)
def role_grant(request):
    organisation = request.staff.organisation
    form = RoleGrantForm(request.POST, organisation=organisation)
    if form.is_valid():
        person = form.person
        try:
            staff_role_grant(
                user=person.user,
                organisation=organisation,
                role=form.cleaned_data["role"],
                granted_by=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(
                request,
                _("%(name)s now has the role %(role)s.")
                % {"name": person.name, "role": StaffRole.Role(form.cleaned_data["role"]).label},
            )
            return redirect("adminaccess:roles")
    return _render(request, form, status=400)


@require_POST
@staff_required(Role.USER_ADMINISTRATOR)
def role_remove(request, pk: int):
    organisation = request.staff.organisation
    staff_role = get_object_or_404(StaffRole.objects.select_related("user"), pk=pk, organisation=organisation)
    try:
        staff_role_remove(
            user=staff_role.user, organisation=organisation, role=staff_role.role, removed_by=request.user
        )
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return _render(request, RoleGrantForm(organisation=organisation), status=400)
    messages.success(request, _("The role was removed."))
    return redirect("adminaccess:roles")
