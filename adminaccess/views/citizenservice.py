"""Citizen service: look a citizen or company up, see their mailbox, and act on their behalf.

The lookup is a POST (a CPR number never appears in a URL, so not in access logs or browser
history) and is logged. The page about a mailbox opens only for a mailbox this session looked
up for the current organisation, so every view of someone's details follows a logged lookup.
Each action is two steps: the form, then a confirmation naming what will happen.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from adminaccess import citizenservice as service
from adminaccess.access import Role, staff_required
from mailbox.models import Mailbox
from rights.delegation import mailbox_access_revoke
from rights.models import MailboxAccess
from rights.nemsms import nemsms_register, nemsms_remove

SESSION_KEY = "citizen_service_lookups"
# The mailboxes a session keeps looked up; older lookups must be made (and logged) again.
MAX_LOOKUPS = 20
FORM_TEMPLATE = "adminaccess/citizenservice/action_form.html"
CONFIRM_TEMPLATE = "adminaccess/citizenservice/action_confirm.html"


class DkfdsForm(forms.Form):
    """A form whose widgets carry DKFDS classes. Django adds aria-describedby for the hint
    (``<id>_helptext``) and the error (``<id>_error``), which the field template uses."""

    CLASSES = {
        "select": "form-select",
        "checkbox": "form-checkbox",
        "clearablefile": "form-file-input",
        "file": "form-file-input",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            widget_type = self[name].widget_type
            field.widget.attrs.setdefault("class", self.CLASSES.get(widget_type, "form-input"))

    def add_service_error(self, error: ValidationError) -> None:
        """Show a service's refusal on the fields it names (elsewhere on the form as a whole)."""
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for field, errors in error.message_dict.items():
            self.add_error(field if field in self.fields else None, errors)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class LookupForm(DkfdsForm):
    number = forms.CharField(
        label=gettext_lazy("CPR or CVR number"),
        max_length=20,
        help_text=gettext_lazy("A citizen's CPR number (10 digits) or a company's CVR number (8 digits)."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )

    def clean_number(self):
        try:
            service.party_number_parse(self.cleaned_data["number"])
        except ValidationError as error:
            raise ValidationError(next(iter(error.message_dict.values()))) from None
        return self.cleaned_data["number"]


class ExemptionForm(DkfdsForm):
    reason = forms.CharField(label=gettext_lazy("Reason"), max_length=200)
    valid_from = forms.DateField(
        label=gettext_lazy("From"),
        required=False,
        widget=DateInput(),
        help_text=gettext_lazy("Today if empty."),
    )
    valid_until = forms.DateField(
        label=gettext_lazy("To"),
        required=False,
        widget=DateInput(),
        help_text=gettext_lazy("Leave empty for an exemption until it is ended."),
    )
    print_address = forms.CharField(
        label=gettext_lazy("Address for remote print"),
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Letters are printed and posted to this address."),
    )


class GrantAccessForm(DkfdsForm):
    grantee = forms.CharField(
        label=gettext_lazy("CPR number of the person who gets read access"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}),
    )
    valid_until = forms.DateField(
        label=gettext_lazy("Last day of access"),
        required=False,
        widget=DateInput(),
        help_text=gettext_lazy("Leave empty for access until it is revoked."),
    )


class NemSMSForm(DkfdsForm):
    mobile = forms.CharField(
        label=gettext_lazy("Mobile number for NemSMS"),
        max_length=20,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "tel"}),
    )


class ConfirmOnlyForm(DkfdsForm):
    """An action with nothing to fill in: only the confirmation."""


# --- Lookup and overview ----------------------------------------------------------------------


def _session_key(request) -> str:
    return f"{request.staff.organisation.pk}:"


def _remember_lookup(request, mailbox: Mailbox) -> None:
    entry = _session_key(request) + str(mailbox.pk)
    lookups = [e for e in request.session.get(SESSION_KEY, []) if e != entry]
    request.session[SESSION_KEY] = [*lookups, entry][-MAX_LOOKUPS:]


def _looked_up(request, mailbox_id: int) -> bool:
    return _session_key(request) + str(mailbox_id) in request.session.get(SESSION_KEY, [])


def _looked_up_mailbox(request, mailbox_id: int) -> Mailbox:
    """The mailbox this session looked up, for an action on it; 404 otherwise."""
    if not _looked_up(request, mailbox_id):
        raise Http404("Look the person or company up first.")
    return get_object_or_404(
        Mailbox.objects.select_related("owner_person", "owner_organisation"), pk=mailbox_id
    )


@require_http_methods(["GET", "POST"])
@staff_required(Role.CITIZEN_SERVICE)
def lookup(request):
    form = LookupForm(request.POST or None)
    not_found = None
    status = 200
    if request.method == "POST":
        if not form.is_valid():
            status = 400
        else:
            mailbox = service.citizen_service_lookup(
                number=form.cleaned_data["number"],
                staff_user=request.user,
                organisation=request.staff.organisation,
            )
            if mailbox is not None:
                _remember_lookup(request, mailbox)
                return redirect("adminaccess:citizen-service-party", mailbox_id=mailbox.pk)
            kind, number = service.party_number_parse(form.cleaned_data["number"])
            not_found = {"kind": kind, "number": number}
            status = 404
    return render(
        request,
        "adminaccess/citizenservice/lookup.html",
        {"form": form, "not_found": not_found},
        status=status,
    )


@require_http_methods(["GET"])
@staff_required(Role.CITIZEN_SERVICE)
def party(request, mailbox_id: int):
    if not _looked_up(request, mailbox_id):
        messages.info(request, _("Look the person or company up to see their mailbox."))
        return redirect("adminaccess:citizen-service")
    mailbox = _looked_up_mailbox(request, mailbox_id)
    return render(
        request,
        "adminaccess/citizenservice/party.html",
        {"overview": service.party_overview(mailbox=mailbox), "today": timezone.localdate()},
    )


# --- Actions: form, confirmation, done ---------------------------------------------------------


def _action(
    request,
    *,
    mailbox: Mailbox,
    form_class: type[DkfdsForm],
    title: str,
    perform,
    summary=lambda data: [],
    done: str,
    initial: dict | None = None,
    warning: str = "",
    confirm_label: str = "",
):
    """Run one citizen-service action: the form (GET), the confirmation (a valid POST), and
    the change itself (a POST with ``confirm``). A refusal re-renders the form with 400 and
    changes nothing; success returns to the party's page with a message."""
    overview = service.party_overview(mailbox=mailbox)
    context = {
        "overview": overview,
        "title": title,
        "warning": warning,
        "confirm_label": confirm_label or _("Confirm"),
    }
    asks_nothing = not form_class.base_fields
    if request.method == "GET":
        form = form_class(initial=initial)
        if asks_nothing:
            return render(request, CONFIRM_TEMPLATE, {**context, "form": form, "summary": summary({})})
        return render(request, FORM_TEMPLATE, {**context, "form": form})
    form = form_class(request.POST)
    if not form.is_valid():
        return render(request, FORM_TEMPLATE, {**context, "form": form}, status=400)
    if "edit" in request.POST:
        return render(request, FORM_TEMPLATE, {**context, "form": form})
    if "confirm" not in request.POST:
        return render(
            request, CONFIRM_TEMPLATE, {**context, "form": form, "summary": summary(form.cleaned_data)}
        )
    try:
        perform(form.cleaned_data)
    except ValidationError as error:
        form.add_service_error(error)
        if asks_nothing:
            context["summary"] = summary(form.cleaned_data)
        template = CONFIRM_TEMPLATE if asks_nothing else FORM_TEMPLATE
        return render(request, template, {**context, "form": form}, status=400)
    messages.success(request, done)
    return redirect("adminaccess:citizen-service-party", mailbox_id=mailbox.pk)


def _date_text(value) -> str:
    return value.strftime("%d-%m-%Y") if value else ""


@require_http_methods(["GET", "POST"])
@staff_required(Role.CITIZEN_SERVICE)
def exempt(request, mailbox_id: int):
    mailbox = _looked_up_mailbox(request, mailbox_id)
    staff = request.staff

    def perform(data):
        service.citizen_service_exempt(
            mailbox=mailbox,
            reason=data["reason"],
            valid_from=data["valid_from"],
            valid_until=data["valid_until"],
            print_address=data["print_address"],
            staff_user=request.user,
            organisation=staff.organisation,
        )

    def summary(data):
        return [
            (_("Reason"), data["reason"]),
            (_("From"), _date_text(data["valid_from"] or timezone.localdate())),
            (_("To"), _date_text(data["valid_until"]) or _("Until ended")),
            (_("Address for remote print"), data["print_address"]),
        ]

    return _action(
        request,
        mailbox=mailbox,
        form_class=ExemptionForm,
        title=_("Exempt from Digital Post"),
        perform=perform,
        summary=summary,
        initial={"print_address": mailbox.owner_person.address if mailbox.owner_person_id else ""},
        warning=_("Letters from authorities will be printed and posted instead of sent digitally."),
        confirm_label=_("Confirm exemption"),
        done=_("The exemption is registered."),
    )


@require_http_methods(["GET", "POST"])
@staff_required(Role.CITIZEN_SERVICE)
def end_exemption(request, mailbox_id: int):
    mailbox = _looked_up_mailbox(request, mailbox_id)
    return _action(
        request,
        mailbox=mailbox,
        form_class=ConfirmOnlyForm,
        title=_("End the exemption"),
        perform=lambda data: service.citizen_service_end_exemption(
            mailbox=mailbox, staff_user=request.user, organisation=request.staff.organisation
        ),
        warning=_("From now on, letters will be sent to the Digital Post mailbox again."),
        confirm_label=_("End exemption"),
        done=_("The exemption has ended."),
    )


def _person_mailbox(request, mailbox_id: int) -> Mailbox:
    mailbox = _looked_up_mailbox(request, mailbox_id)
    if mailbox.owner_person_id is None:
        raise Http404("This action is for citizens' mailboxes.")
    return mailbox


@require_http_methods(["GET", "POST"])
@staff_required(Role.CITIZEN_SERVICE)
def grant_access(request, mailbox_id: int):
    mailbox = _person_mailbox(request, mailbox_id)

    def summary(data):
        try:
            grantee = service.grantee_for(data["grantee"]).name
        except ValidationError:
            grantee = data["grantee"]
        return [
            (_("Read access for"), grantee),
            (_("Last day of access"), _date_text(data["valid_until"]) or _("Until revoked")),
        ]

    return _action(
        request,
        mailbox=mailbox,
        form_class=GrantAccessForm,
        title=_("Give read access"),
        perform=lambda data: service.citizen_service_grant_read_access(
            mailbox=mailbox,
            grantee_cpr=data["grantee"],
            valid_until=data["valid_until"],
            staff_user=request.user,
        ),
        summary=summary,
        warning=_("The person will be able to read all mail in this mailbox."),
        confirm_label=_("Give read access"),
        done=_("Read access is given."),
    )


@require_http_methods(["GET", "POST"])
@staff_required(Role.CITIZEN_SERVICE)
def revoke_access(request, mailbox_id: int, access_id: int):
    mailbox = _looked_up_mailbox(request, mailbox_id)
    access = get_object_or_404(
        MailboxAccess.objects.select_related("grantee"),
        pk=access_id,
        mailbox=mailbox,
        # A company's employees are managed by the company's own user administrator.
        kind=MailboxAccess.Kind.DELEGATION,
        revoked_at__isnull=True,
    )
    return _action(
        request,
        mailbox=mailbox,
        form_class=ConfirmOnlyForm,
        title=_("Revoke access"),
        perform=lambda data: mailbox_access_revoke(access=access, revoked_by=request.user),
        summary=lambda data: [
            (_("Person"), access.grantee.name),
            (_("Access"), access.get_level_display()),
        ],
        warning=_("The person can no longer read this mailbox."),
        confirm_label=_("Revoke access"),
        done=_("The access is revoked."),
    )


@require_http_methods(["GET", "POST"])
@staff_required(Role.CITIZEN_SERVICE)
def nemsms_set(request, mailbox_id: int):
    mailbox = _person_mailbox(request, mailbox_id)
    person = mailbox.owner_person
    return _action(
        request,
        mailbox=mailbox,
        form_class=NemSMSForm,
        title=_("Register for NemSMS"),
        perform=lambda data: nemsms_register(person=person, mobile=data["mobile"], actor_user=request.user),
        summary=lambda data: [(_("Mobile number for NemSMS"), data["mobile"])],
        initial={"mobile": person.nemsms_mobile},
        confirm_label=_("Register number"),
        done=_("The NemSMS number is registered."),
    )


@require_http_methods(["GET", "POST"])
@staff_required(Role.CITIZEN_SERVICE)
def nemsms_unset(request, mailbox_id: int):
    mailbox = _person_mailbox(request, mailbox_id)
    person = mailbox.owner_person
    return _action(
        request,
        mailbox=mailbox,
        form_class=ConfirmOnlyForm,
        title=_("Remove the NemSMS registration"),
        perform=lambda data: nemsms_remove(person=person, actor_user=request.user),
        summary=lambda data: [(_("Mobile number for NemSMS"), person.nemsms_mobile)],
        warning=_("The citizen will no longer receive NemSMS messages."),
        confirm_label=_("Remove number"),
        done=_("The NemSMS registration is removed."),
    )
