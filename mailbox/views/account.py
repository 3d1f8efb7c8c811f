"""The inbox's account pages: access on one's behalf, a company's employees, settings, devices.

Thin views: forms check the input, services in ``rights/account.py`` do the writes, and a
refused write re-renders the page with the message tied to its field (status 400). Settings and
devices belong to the person logged in, whichever mailbox they are acting in; access on one's
behalf is managed only by the owner, in their own mailbox.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from mailbox.access import mailbox_required, mailboxes_available
from rights import account
from rights.middleware import set_language_cookie
from rights.models import ContactVerification, LoginSession, MailboxAccess, Organisation

EVENTS_PER_PAGE = 25


class GrantForm(forms.Form):
    cpr = forms.CharField(
        label=gettext_lazy("CPR number"),
        max_length=11,
        help_text=gettext_lazy("10 digits, e.g. 010180-1234. The person must use Digital Post."),
    )
    level = forms.ChoiceField(
        label=gettext_lazy("Access"),
        choices=MailboxAccess.Level.choices,
        initial=MailboxAccess.Level.READ,
    )


class DelegationForm(GrantForm):
    valid_until = forms.DateField(
        label=gettext_lazy("Last day of access (optional)"),
        required=False,
        help_text=gettext_lazy("Leave empty for access until you take it back."),
        widget=forms.DateInput(attrs={"type": "date"}),
    )


def _apply(form: forms.Form, error: ValidationError) -> None:
    """Put a service's refusal on the form, on its field where the form has one."""
    if not hasattr(error, "error_dict"):
        form.add_error(None, error.messages)
        return
    for field, field_messages in error.message_dict.items():
        form.add_error(field if field in form.fields else None, field_messages)


def _render(request, template: str, context: dict, status: int = 200):
    context["administers_companies"] = account.companies_administered(
        person=request.mailbox_context.actor
    ).exists()
    return render(request, template, context, status=status)


def _owner_only(request):
    context = request.mailbox_context
    if not context.is_owner:
        # A representative does not hand the owner's mailbox on to others.
        raise PermissionDenied("Only the owner of a mailbox decides who may read it.")
    return context


# --- On someone's behalf -----------------------------------------------------------------------


def _access_page(request, form: DelegationForm, status: int = 200):
    context = request.mailbox_context
    mailbox = context.mailbox
    live, ended = account.delegations_of(mailbox=mailbox)
    reads = Paginator(account.representative_reads(mailbox=mailbox), EVENTS_PER_PAGE).get_page(
        request.GET.get("reads")
    )
    changes = Paginator(account.access_changes(mailbox=mailbox), EVENTS_PER_PAGE).get_page(
        request.GET.get("changes")
    )
    others = [c for c in mailboxes_available(context.actor) if not c.is_owner]
    return _render(
        request,
        "mailbox/account/access.html",
        {
            "form": form,
            "live": live,
            "ended": ended,
            "reads": reads,
            "changes": changes,
            "others": others,
            "section": "access",
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@mailbox_required
def access(request):
    context = _owner_only(request)
    if request.method == "GET":
        return _access_page(request, DelegationForm())
    form = DelegationForm(request.POST)
    if form.is_valid():
        try:
            granted = account.delegation_grant(
                owner=context.actor,
                cpr=form.cleaned_data["cpr"],
                level=form.cleaned_data["level"],
                valid_until=form.cleaned_data["valid_until"],
            )
        except ValidationError as error:
            _apply(form, error)
        else:
            messages.success(
                request, _("%(name)s now has access to your mailbox.") % {"name": granted.grantee.name}
            )
            return redirect("access")
    return _access_page(request, form, status=400)


@require_POST
@mailbox_required
def access_revoke(request, access_id: int):
    context = _owner_only(request)
    grant = get_object_or_404(
        MailboxAccess, pk=access_id, mailbox=context.mailbox, kind=MailboxAccess.Kind.DELEGATION
    )
    try:
        account.delegation_revoke(owner=context.actor, access=grant)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, _("%(name)s no longer has access.") % {"name": grant.grantee.name})
    return redirect("access")


# --- Company mailboxes --------------------------------------------------------------------------


def _company(request) -> tuple[Organisation, list[Organisation]]:
    """The company whose employees this user administrator manages: chosen, current, or first."""
    companies = list(account.companies_administered(person=request.mailbox_context.actor).order_by("name"))
    if not companies:
        raise PermissionDenied("Only a company's user administrator manages its employees' access.")
    wanted = request.POST.get("company") or request.GET.get("company")
    if wanted:
        chosen = next((c for c in companies if c.cvr == wanted), None)
        if chosen is None:
            raise Http404("You do not administer that company.")
        return chosen, companies
    current = request.mailbox_context.mailbox.owner_organisation_id
    return next((c for c in companies if c.pk == current), companies[0]), companies


def _employees_page(request, company, companies, form: GrantForm, status: int = 200):
    live, ended = account.delegations_of(mailbox=company.mailbox, kind=MailboxAccess.Kind.EMPLOYEE)
    return _render(
        request,
        "mailbox/account/company_employees.html",
        {
            "company": company,
            "companies": companies,
            "form": form,
            "live": live,
            "ended": ended[:50],
            "section": "company-employees",
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@mailbox_required
def company_employees(request):
    company, companies = _company(request)
    if request.method == "GET":
        return _employees_page(request, company, companies, GrantForm())
    form = GrantForm(request.POST)
    if form.is_valid():
        try:
            granted = account.company_employee_grant(
                administrator=request.mailbox_context.actor,
                organisation=company,
                cpr=form.cleaned_data["cpr"],
                level=form.cleaned_data["level"],
            )
        except ValidationError as error:
            _apply(form, error)
        else:
            messages.success(
                request,
                _("%(name)s can now use the mailbox of %(company)s.")
                % {"name": granted.grantee.name, "company": company.name},
            )
            return redirect(f"{request.path}?company={company.cvr}")
    return _employees_page(request, company, companies, form, status=400)


@require_POST
@mailbox_required
def company_employee_remove(request, access_id: int):
    company, _companies = _company(request)
    grant = get_object_or_404(
        MailboxAccess, pk=access_id, mailbox=company.mailbox, kind=MailboxAccess.Kind.EMPLOYEE
    )
    try:
        account.company_employee_remove(
            administrator=request.mailbox_context.actor, organisation=company, access=grant
        )
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(
            request,
            _("%(name)s can no longer use the mailbox of %(company)s.")
            % {"name": grant.grantee.name, "company": company.name},
        )
    return redirect(f"{reverse('company-employees')}?company={company.cvr}")


# --- Settings -------------------------------------------------------------------------------------

CHANNELS = {"email": ContactVerification.Channel.EMAIL, "mobile": ContactVerification.Channel.SMS}


class EmailForm(forms.Form):
    email = forms.CharField(label=gettext_lazy("New e-mail address"), max_length=254)


class MobileForm(forms.Form):
    mobile = forms.CharField(
        label=gettext_lazy("New mobile number"),
        max_length=20,
        help_text=gettext_lazy("8 digits, or + and the country code."),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"), max_length=12, help_text=gettext_lazy("The 6 digits we sent you.")
    )


class LanguageForm(forms.Form):
    language = forms.ChoiceField(label=gettext_lazy("Language"), choices=[("da", "Dansk"), ("en", "English")])


def _settings_page(request, status: int = 200, **forms_by_name):
    person = request.mailbox_context.actor
    person.refresh_from_db()
    pending = {
        name: account.pending_verification(person=person, channel=channel)
        for name, channel in CHANNELS.items()
    }
    context = {
        "person": person,
        "pending_email": pending["email"],
        "pending_mobile": pending["mobile"],
        "email_form": forms_by_name.get("email_form") or EmailForm(),
        "mobile_form": forms_by_name.get("mobile_form") or MobileForm(),
        "email_code_form": forms_by_name.get("email_code_form") or CodeForm(prefix="email"),
        "mobile_code_form": forms_by_name.get("mobile_code_form") or CodeForm(prefix="mobile"),
        "language_form": forms_by_name.get("language_form")
        or LanguageForm(initial={"language": person.language}),
        "nemsms_error": forms_by_name.get("nemsms_error", ""),
        "section": "settings",
    }
    return _render(request, "mailbox/account/settings.html", context, status=status)


@require_GET
@mailbox_required
def settings_page(request):
    return _settings_page(request)


@require_POST
@mailbox_required
def settings_contact(request, kind: str):
    """Ask for a code for a new address, confirm it, cancel it, or remove the address."""
    if kind not in CHANNELS:
        raise Http404("Unknown kind of address.")
    channel = CHANNELS[kind]
    person = request.mailbox_context.actor
    action = request.POST.get("action", "send")
    if action == "send":
        form = (EmailForm if kind == "email" else MobileForm)(request.POST)
        if not form.is_valid():
            return _settings_page(request, 400, **{f"{kind}_form": form})
        try:
            verification = account.contact_verification_start(
                person=person, channel=channel, address=form.cleaned_data[kind]
            )
        except ValidationError as error:
            _apply(form, error)
            return _settings_page(request, 400, **{f"{kind}_form": form})
        messages.info(
            request,
            _("We sent a code to %(address)s. Enter it below to start using the new address.")
            % {"address": verification.address},
        )
    elif action == "confirm":
        form = CodeForm(request.POST, prefix=kind)
        if not form.is_valid():
            return _settings_page(request, 400, **{f"{kind}_code_form": form})
        try:
            account.contact_verification_confirm(
                person=person, channel=channel, code=form.cleaned_data["code"]
            )
        except ValidationError as error:
            _apply(form, error)
            return _settings_page(request, 400, **{f"{kind}_code_form": form})
        messages.success(
            request,
            _("Your e-mail address is confirmed.")
            if kind == "email"
            else _("Your mobile number is confirmed."),
        )
    elif action == "cancel":
        account.contact_verification_cancel(person=person, channel=channel)
    elif action == "remove":
        account.contact_remove(person=person, channel=channel)
        messages.success(
            request,
            _("You no longer get notifications by e-mail.")
            if kind == "email"
            else _("You no longer get notifications by SMS."),
        )
    else:
        raise Http404("Unknown action.")
    return redirect("settings")


@require_POST
@mailbox_required
def settings_nemsms(request):
    person = request.mailbox_context.actor
    enabled = request.POST.get("nemsms") == "on"
    try:
        account.nemsms_set(person=person, enabled=enabled)
    except ValidationError as error:
        return _settings_page(request, 400, nemsms_error=error.messages[0])
    messages.success(request, _("NemSMS is on.") if enabled else _("NemSMS is off."))
    return redirect("settings")


@require_POST
@mailbox_required
def settings_language(request):
    form = LanguageForm(request.POST)
    if not form.is_valid():
        return _settings_page(request, 400, language_form=form)
    language = form.cleaned_data["language"]
    account.person_language_set(person=request.mailbox_context.actor, language=language)
    translation.activate(language)
    messages.success(request, _("The language is saved."))
    response = redirect("settings")
    set_language_cookie(response, language)
    return response


# --- Devices and sessions -----------------------------------------------------------------------


def _device_rows(request):
    current = request.session.session_key
    rows = []
    for login_session in account.login_sessions_of(user=request.user):
        login_session.device = account.describe_user_agent(login_session.user_agent)
        login_session.is_current = login_session.session_key == current
        rows.append(login_session)
    return rows


@require_GET
@mailbox_required
def devices(request):
    account.login_sessions_prune(user=request.user)
    return _render(
        request, "mailbox/account/devices.html", {"sessions": _device_rows(request), "section": "devices"}
    )


def _own_session(request, pk: int) -> LoginSession:
    return get_object_or_404(LoginSession, pk=pk, user=request.user)


@require_POST
@mailbox_required
def device_logout(request, pk: int):
    login_session = _own_session(request, pk)
    if login_session.session_key == request.session.session_key:
        # This device: an ordinary logout.
        logout(request)
        return redirect("home")
    account.login_session_end(login_session=login_session)
    messages.success(request, _("That device is logged out."))
    return redirect("devices")


@require_POST
@mailbox_required
def devices_logout_others(request):
    count = account.login_sessions_end_others(
        user=request.user, current_session_key=request.session.session_key
    )
    messages.success(request, _("Other devices logged out: %(count)s.") % {"count": count})
    return redirect("devices")


@require_POST
@mailbox_required
def device_notifications(request, pk: int):
    login_session = _own_session(request, pk)
    account.login_session_set_notifications(
        login_session=login_session, enabled=request.POST.get("notifications") == "on"
    )
    if request.headers.get("HX-Request"):
        login_session.device = account.describe_user_agent(login_session.user_agent)
        login_session.is_current = login_session.session_key == request.session.session_key
        return render(request, "mailbox/account/_device_row.html", {"s": login_session})
    messages.success(request, _("Saved."))
    return redirect("devices")


@require_GET
@mailbox_required
def new_mail_notice(request):
    """The in-browser notice of new mail, polled by htmx while a page is open.

    Only on a device whose notices are on (the devices page); elsewhere the answer stops the
    polling. ``since`` is when the page was opened (seconds since the epoch).
    """
    login_session = request.login_session
    enabled = bool(login_session) and login_session.notifications_enabled
    try:
        since = datetime.fromtimestamp(float(request.GET.get("since", "")), tz=UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        since = timezone.now()
    count = account.new_mail_count(mailbox=request.mailbox_context.mailbox, since=since) if enabled else 0
    return render(
        request,
        "mailbox/account/_new_mail_notice.html",
        {"notices_enabled": enabled, "count": count, "since": int(since.timestamp())},
    )
