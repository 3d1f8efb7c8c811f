"""Sender and recipient systems of the staff member's organisation (system administrators).

A new API token is shown exactly once: the view that issues it keeps it in the session for
the next page, and that page takes it out. Reloading shows only the token's prefix.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from adminaccess.access import Role, staff_required
from adminaccess.certificates import format_fingerprint
from adminaccess.forms import CertificateForm, SystemForm
from adminaccess.models import System
from adminaccess.selectors import recent_batches
from adminaccess.services import (
    CERTIFICATE_WARNING_DAYS,
    system_create,
    system_reactivate,
    system_remove_certificate,
    system_rotate_token,
    system_set_certificate,
    system_set_default,
    system_update,
)

_NEW_TOKEN_KEY = "adminaccess_new_token"  # noqa: S105 - a session key, not a secret


def _system(request, pk: int) -> System:
    return get_object_or_404(
        System.objects.select_related("organisation"), pk=pk, organisation=request.staff.organisation
    )


def _certificate_state(system: System, now) -> str:
    """'' (none), 'ok', 'expiring' (within the warning window) or 'expired'."""
    if not system.certificate_fingerprint or system.certificate_not_after is None:
        return ""
    if system.certificate_not_after <= now:
        return "expired"
    if system.certificate_not_after <= now + timedelta(days=CERTIFICATE_WARNING_DAYS):
        return "expiring"
    return "ok"


def _remember_token(request, system: System, token: str) -> None:
    request.session[_NEW_TOKEN_KEY] = {"system": system.pk, "token": token}


def _take_token(request, system: System) -> str | None:
    # Taken out on the first detail page shown, whichever system it is for: a token is never
    # left lying in the session.
    stored = request.session.pop(_NEW_TOKEN_KEY, None)
    if not stored or stored.get("system") != system.pk:
        return None
    return stored["token"]


@staff_required(Role.SYSTEM_ADMINISTRATOR)
def system_list(request):
    now = timezone.now()
    systems = list(System.objects.filter(organisation=request.staff.organisation).order_by("kind", "name"))
    rows = [{"system": s, "certificate_state": _certificate_state(s, now)} for s in systems]
    return render(
        request,
        "adminaccess/systems/list.html",
        {
            "senders": [r for r in rows if r["system"].kind == System.Kind.SENDER],
            "recipients": [r for r in rows if r["system"].kind == System.Kind.RECIPIENT],
            "expiring": [r["system"] for r in rows if r["certificate_state"] in ("expiring", "expired")],
            "warning_days": CERTIFICATE_WARNING_DAYS,
        },
    )


@staff_required(Role.SYSTEM_ADMINISTRATOR)
def system_create_view(request):
    form = SystemForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            system, token = system_create(
                organisation=request.staff.organisation,
                kind=data["kind"],
                name=data["name"].strip(),
                protocol=data["protocol"] if data["kind"] == System.Kind.RECIPIENT else "",
                endpoint=data["endpoint"],
                memo_version=data["memo_version"],
                allowed_ips=data["allowed_ips"],
                technical_contact_email=data["technical_contact_email"],
                actor_user=request.user,
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            _remember_token(request, system, token)
            messages.success(request, _("The system was created."))
            return redirect("adminaccess:systems-detail", pk=system.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "adminaccess/systems/form.html", {"form": form, "system": None}, status=status)


@staff_required(Role.SYSTEM_ADMINISTRATOR)
def system_detail(request, pk: int):
    system = _system(request, pk)
    return _render_detail(request, system, certificate_form=CertificateForm())


def _render_detail(request, system: System, *, certificate_form: CertificateForm, status: int = 200):
    now = timezone.now()
    new_token = _take_token(request, system)
    response = render(
        request,
        "adminaccess/systems/detail.html",
        {
            "system": system,
            "new_token": new_token,
            "certificate_state": _certificate_state(system, now),
            "certificate_fingerprint": format_fingerprint(system.certificate_fingerprint),
            "certificate_form": certificate_form,
            "warning_days": CERTIFICATE_WARNING_DAYS,
            "basic_user": str(system.system_id),
            "batches": recent_batches(system=system) if system.kind == System.Kind.SENDER else [],
        },
        status=status,
    )
    if new_token:
        # Neither the browser's cache nor its back button may show the token again.
        patch_cache_control(response, no_store=True, no_cache=True, private=True)
    return response


@staff_required(Role.SYSTEM_ADMINISTRATOR)
def system_edit(request, pk: int):
    system = _system(request, pk)
    form = SystemForm(request.POST or None, system=system)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            system_update(
                system=system,
                actor_user=request.user,
                name=data["name"],
                protocol=data["protocol"] if system.kind == System.Kind.RECIPIENT else "",
                endpoint=data["endpoint"],
                memo_version=data["memo_version"],
                allowed_ips=data["allowed_ips"],
                technical_contact_email=data["technical_contact_email"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("The system was saved."))
            return redirect("adminaccess:systems-detail", pk=system.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "adminaccess/systems/form.html", {"form": form, "system": system}, status=status)


@require_POST
@staff_required(Role.SYSTEM_ADMINISTRATOR)
def system_rotate_token_view(request, pk: int):
    system = _system(request, pk)
    token = system_rotate_token(system=system, actor_user=request.user)
    _remember_token(request, system, token)
    messages.success(request, _("A new API token was issued. The old token no longer works."))
    return redirect("adminaccess:systems-detail", pk=system.pk)


@require_POST
@staff_required(Role.SYSTEM_ADMINISTRATOR)
def system_certificate(request, pk: int):
    system = _system(request, pk)
    form = CertificateForm(request.POST, request.FILES)
    if not form.is_valid():
        return _render_detail(request, system, certificate_form=form, status=400)
    system_set_certificate(
        system=system, certificate=form.cleaned_data["certificate"], actor_user=request.user
    )
    messages.success(request, _("The certificate was registered."))
    return redirect("adminaccess:systems-detail", pk=system.pk)


@require_POST
@staff_required(Role.SYSTEM_ADMINISTRATOR)
def system_certificate_remove(request, pk: int):
    system = _system(request, pk)
    system_remove_certificate(system=system, actor_user=request.user)
    messages.success(request, _("The certificate was removed."))
    return redirect("adminaccess:systems-detail", pk=system.pk)


@require_POST
@staff_required(Role.SYSTEM_ADMINISTRATOR)
def system_default(request, pk: int):
    system = _system(request, pk)
    try:
        system_set_default(system=system, actor_user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return _render_detail(request, system, certificate_form=CertificateForm(), status=400)
    messages.success(request, _("%(name)s is now the default recipient system.") % {"name": system.name})
    return redirect("adminaccess:systems-detail", pk=system.pk)


@require_POST
@staff_required(Role.SYSTEM_ADMINISTRATOR)
def system_reactivate_view(request, pk: int):
    system = _system(request, pk)
    try:
        reactivated = system_reactivate(system=system, actor_user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return _render_detail(request, system, certificate_form=CertificateForm(), status=400)
    if reactivated:
        messages.success(request, _("The system was reactivated. Held mail is delivered again."))
    else:
        messages.info(request, _("The system was already active."))
    return redirect("adminaccess:systems-detail", pk=system.pk)
