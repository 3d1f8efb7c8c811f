"""The organisation's logo, shown beside its letters in the inbox (system administrators)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from adminaccess.access import Role, staff_required
from adminaccess.forms import LogoForm
from adminaccess.services import organisation_remove_logo, organisation_set_logo


@staff_required(Role.SYSTEM_ADMINISTRATOR)
def logo(request):
    organisation = request.staff.organisation
    form = LogoForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            organisation_set_logo(
                organisation=organisation, data=form.cleaned_data["logo"], actor_user=request.user
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("The logo was changed."))
            return redirect("adminaccess:logo")
    status = 400 if request.method == "POST" else 200
    organisation.refresh_from_db(fields=["logo"])
    return render(
        request, "adminaccess/logo.html", {"form": form, "organisation": organisation}, status=status
    )


@require_POST
@staff_required(Role.SYSTEM_ADMINISTRATOR)
def logo_remove(request):
    organisation_remove_logo(organisation=request.staff.organisation, actor_user=request.user)
    messages.success(request, _("The logo was removed."))
    return redirect("adminaccess:logo")
