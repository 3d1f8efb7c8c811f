"""The test portal: make test citizens and companies, send them test messages as API mail,
and open their inbox. System administrators only, and only where the portal is switched on
(``DIGITALPOST_TEST_PORTAL``); elsewhere every page is 404."""

from __future__ import annotations

import functools
import json
from datetime import datetime, time

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from adminaccess import testportal as portal
from adminaccess.access import Role, staff_required
from adminaccess.models import Event, System, TestIdentity
from adminaccess.views.citizenservice import DateInput, DkfdsForm
from mailbox.api.sending import ReceiptSerializer
from mailbox.models import Receipt


def portal_required(view_func):
    """404 unless the test portal is switched on (for everyone: where it is off, it does not
    exist); then system administrators of the organisation only."""
    protected = staff_required(Role.SYSTEM_ADMINISTRATOR)(view_func)

    @functools.wraps(view_func)
    def wrapper(request, *args, **kwargs):
        if not portal.testportal_enabled():
            raise Http404("The test portal is not switched on here.")
        return protected(request, *args, **kwargs)

    wrapper.staff_roles = protected.staff_roles
    return wrapper


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs=attrs, format="%Y-%m-%dT%H:%M")


class PersonForm(DkfdsForm):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    cpr = forms.CharField(
        label=gettext_lazy("CPR number"),
        max_length=11,
        required=False,
        help_text=gettext_lazy("Leave empty to have one made up."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    address = forms.CharField(
        label=gettext_lazy("Postal address"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("Used for remote print."),
    )
    email = forms.EmailField(label=gettext_lazy("E-mail for notifications"), required=False)


class CompanyForm(DkfdsForm):
    name = forms.CharField(label=gettext_lazy("Company name"), max_length=200)
    cvr = forms.CharField(
        label=gettext_lazy("CVR number"),
        max_length=8,
        required=False,
        help_text=gettext_lazy("Leave empty to have one made up."),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    employee_name = forms.CharField(
        label=gettext_lazy("Name of a test employee"),
        max_length=200,
        required=False,
        help_text=gettext_lazy("A test citizen who can open the company's mailbox."),
    )


class IdentityChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, identity: TestIdentity) -> str:
        return f"{identity.party.name} ({identity.id_type} {identity.identifier})"


class SystemChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, system: System) -> str:
        return system.name


class SendForm(DkfdsForm):
    recipient = IdentityChoiceField(label=gettext_lazy("Recipient"), queryset=TestIdentity.objects.none())
    system = SystemChoiceField(
        label=gettext_lazy("Sender system"),
        queryset=System.objects.none(),
        required=False,
        empty_label=gettext_lazy("The test portal's own sender system"),
        help_text=gettext_lazy("The message goes through this system exactly as API mail does."),
    )
    title = forms.CharField(label=gettext_lazy("Title"), max_length=256)
    text = forms.CharField(
        label=gettext_lazy("Text"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=gettext_lazy("Becomes the letter as a PDF. Leave empty if you upload a PDF."),
    )
    pdf = forms.FileField(
        label=gettext_lazy("PDF document"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".pdf"}),
    )
    value_date = forms.DateField(
        label=gettext_lazy("Value date"),
        required=False,
        widget=DateInput(),
        help_text=gettext_lazy("The message is held until this date."),
    )
    self_service_url = forms.URLField(
        label=gettext_lazy("Self-service link"), required=False, max_length=256, assume_scheme="https"
    )
    self_service_label = forms.CharField(label=gettext_lazy("Link text"), required=False, max_length=100)
    self_service_deadline = forms.DateField(
        label=gettext_lazy("Deadline"), required=False, widget=DateInput()
    )
    appointment_start = forms.DateTimeField(
        label=gettext_lazy("Starts"), required=False, widget=DateTimeInput()
    )
    appointment_end = forms.DateTimeField(label=gettext_lazy("Ends"), required=False, widget=DateTimeInput())
    appointment_location = forms.CharField(label=gettext_lazy("Location"), required=False, max_length=200)

    SELF_SERVICE = ("self_service_url", "self_service_label", "self_service_deadline")
    APPOINTMENT = ("appointment_start", "appointment_end", "appointment_location")

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["recipient"].queryset = portal.testportal_identities(organisation=organisation)
        self.fields["system"].queryset = portal.testportal_sender_systems(organisation=organisation).exclude(
            name=portal.TEST_PORTAL_SYSTEM_NAME
        )

    def clean_pdf(self):
        upload = self.cleaned_data.get("pdf")
        if upload and upload.size > portal.MAX_PDF_BYTES:
            raise ValidationError(_("The PDF is larger than 99.5 MB."))
        return upload

    def clean(self):
        data = super().clean()
        wants_self_service = any(data.get(name) for name in self.SELF_SERVICE)
        if wants_self_service and not data.get("self_service_url") and "self_service_url" not in self.errors:
            self.add_error("self_service_url", _("A self-service action needs a link."))
        if any(data.get(name) for name in self.APPOINTMENT):
            for name in self.APPOINTMENT:
                if not data.get(name) and name not in self.errors:
                    self.add_error(name, _("An appointment needs a start, an end and a location."))
        return data

    def sections(self):
        """The fields in the order and groups the page shows them."""
        main = [self[n] for n in ("recipient", "system", "title", "text", "pdf", "value_date")]
        return main, [self[n] for n in self.SELF_SERVICE], [self[n] for n in self.APPOINTMENT]

    def letter(self) -> portal.PortalLetter:
        data = self.cleaned_data
        upload = data.get("pdf")
        self_service = appointment = None
        if data.get("self_service_url"):
            deadline = data.get("self_service_deadline")
            self_service = portal.SelfService(
                label=data.get("self_service_label") or _("Go to self-service"),
                url=data["self_service_url"],
                deadline=datetime.combine(deadline, time(23, 59), tzinfo=timezone.get_current_timezone())
                if deadline
                else None,
            )
        if data.get("appointment_start"):
            appointment = portal.Appointment(
                label=_("Add to calendar"),
                start=data["appointment_start"],
                end=data["appointment_end"],
                location=data["appointment_location"],
            )
        return portal.PortalLetter(
            title=data["title"],
            text=data.get("text") or "",
            pdf=upload.read() if upload else None,
            pdf_filename=upload.name if upload else "",
            value_date=data.get("value_date"),
            self_service=self_service,
            appointment=appointment,
        )


def _identity_rows(organisation):
    rows = []
    for identity in portal.testportal_identities(organisation=organisation):
        rows.append({"identity": identity, "login_person": portal.testportal_login_person(identity)})
    return rows


@portal_required
@require_http_methods(["GET"])
def home(request):
    return render(
        request,
        "adminaccess/testportal/home.html",
        {"rows": _identity_rows(request.staff.organisation), "dev_login": settings.DIGITALPOST_DEV_LOGIN},
    )


def _create(request, *, form_class, create, template, done):
    form = form_class(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                identity = create(form.cleaned_data)
            except ValidationError as error:
                form.add_service_error(error)
            else:
                messages.success(request, done % {"name": identity.party.name, "number": identity.identifier})
                return redirect("adminaccess:test-portal")
        status = 400
    return render(request, template, {"form": form}, status=status)


@portal_required
@require_http_methods(["GET", "POST"])
def create_person(request):
    return _create(
        request,
        form_class=PersonForm,
        template="adminaccess/testportal/create_person.html",
        create=lambda data: portal.testportal_person_create(
            organisation=request.staff.organisation,
            name=data["name"],
            cpr=data["cpr"],
            address=data["address"],
            email=data["email"],
            staff_user=request.user,
        ),
        done=_("Test citizen %(name)s (CPR %(number)s) is created."),
    )


@portal_required
@require_http_methods(["GET", "POST"])
def create_company(request):
    return _create(
        request,
        form_class=CompanyForm,
        template="adminaccess/testportal/create_company.html",
        create=lambda data: portal.testportal_company_create(
            organisation=request.staff.organisation,
            name=data["name"],
            cvr=data["cvr"],
            employee_name=data["employee_name"],
            staff_user=request.user,
        ),
        done=_("Test company %(name)s (CVR %(number)s) is created."),
    )


@portal_required
@require_http_methods(["GET", "POST"])
def send(request):
    organisation = request.staff.organisation
    initial = {}
    if request.method == "GET" and request.GET.get("recipient", "").isdigit():
        initial["recipient"] = request.GET["recipient"]
    form = SendForm(request.POST or None, request.FILES or None, organisation=organisation, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                result = portal.testportal_message_send(
                    organisation=organisation,
                    identity=form.cleaned_data["recipient"],
                    letter=form.letter(),
                    system=form.cleaned_data["system"],
                    staff_user=request.user,
                )
            except ValidationError as error:
                form.add_service_error(error)
            else:
                return redirect("adminaccess:test-portal-receipt", receipt_id=result.receipt.receipt_id)
        status = 400
    main, self_service, appointment = form.sections()
    return render(
        request,
        "adminaccess/testportal/send.html",
        {
            "form": form,
            "main_fields": main,
            "self_service_fields": self_service,
            "appointment_fields": appointment,
            "has_identities": form.fields["recipient"].queryset.exists(),
        },
        status=status,
    )


@portal_required
@require_http_methods(["GET"])
def receipt(request, receipt_id):
    organisation = request.staff.organisation
    found = get_object_or_404(
        Receipt.objects.select_related("message", "sender_system"),
        receipt_id=receipt_id,
        organisation=organisation,
        kind=Receipt.Kind.TECHNICAL,
    )
    # Only receipts for what the test portal sent are shown here (the others: the event log).
    sent = (
        Event.objects.filter(
            tag=Event.Tag.TEST_MESSAGE_SENT,
            organisation=organisation,
            message_uuid=found.message_uuid,
            system=found.sender_system,
        )
        .order_by("-occurred_at")
        .first()
    )
    identity = None
    if sent is not None and sent.mailbox_id is not None:
        identity = (
            portal.testportal_identities(organisation=organisation)
            .filter(Q(person__mailbox=sent.mailbox_id) | Q(company__mailbox=sent.mailbox_id))
            .first()
        )
    if identity is None:
        raise Http404("Not a test portal message.")
    message = found.message
    return render(
        request,
        "adminaccess/testportal/receipt.html",
        {
            "receipt": found,
            "receipt_json": json.dumps(ReceiptSerializer(found).data, indent=2),
            "message": message,
            "identity": identity,
            "login_person": portal.testportal_login_person(identity),
            "dev_login": settings.DIGITALPOST_DEV_LOGIN,
        },
    )
