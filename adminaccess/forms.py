"""Forms for the systems, certificates, logo and roles pages of Administrativ Adgang.

Forms check what the user typed; the services check the rules. A service's ValidationError is
put back on the form (``form.add_error(None, error)``), so every message lands on its field.
"""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from adminaccess.access import STAFF_ROLES
from adminaccess.certificates import MAX_CERTIFICATE_BYTES, parse_certificate
from adminaccess.models import System
from adminaccess.services import LOGO_MAX_BYTES, validate_allowed_ips
from rights.models import Organisation, Person, StaffRole
from rights.services import validate_cpr


class AllowedIpsField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 4})

    def to_python(self, value):
        return [line.strip() for line in (value or "").splitlines() if line.strip()]

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def validate(self, value):
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")

    def clean(self, value):
        value = super().clean(value)
        try:
            return validate_allowed_ips(value)
        except ValidationError as error:
            raise ValidationError(error.error_dict["allowed_ips"]) from None


class SystemForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    kind = forms.ChoiceField(label=_("Kind"), choices=System.Kind.choices)
    protocol = forms.ChoiceField(
        label=_("Protocol"),
        choices=[("", _("Not for sender systems")), *System.Protocol.choices],
        required=False,
        help_text=_("Recipient systems only. A push system needs an endpoint."),
    )
    endpoint = forms.URLField(
        label=_("Endpoint URL"),
        max_length=500,
        required=False,
        assume_scheme="https",
        help_text=_("Where the hub posts messages to a push system."),
    )
    memo_version = forms.ChoiceField(
        label=_("MeMo version"),
        choices=[("1.2", "1.2"), ("1.1", "1.1")],
        initial="1.2",
        help_text=_("The version the system sends and receives."),
    )
    allowed_ips = AllowedIpsField(
        label=_("Allowed IP addresses"),
        required=False,
        help_text=_("One address or CIDR network per line, e.g. 192.0.2.0/24. Empty allows any address."),
    )
    technical_contact_email = forms.EmailField(
        label=_("Technical contact e-mail"),
        required=False,
        help_text=_("Gets warnings about failing deliveries and expiring certificates."),
    )

    def __init__(self, *args, system: System | None = None, **kwargs):
        self.system = system
        if system is not None:
            kwargs.setdefault("initial", {field: getattr(system, field) for field in self.base_fields})
        super().__init__(*args, **kwargs)
        if system is not None:
            # The kind of an existing system never changes.
            del self.fields["kind"]

    @property
    def system_kind(self) -> str:
        if self.system is not None:
            return self.system.kind
        return self.cleaned_data.get("kind", "")

    def clean(self):
        cleaned = super().clean()
        kind = self.system_kind
        protocol, endpoint = cleaned.get("protocol", ""), cleaned.get("endpoint", "")
        if kind == System.Kind.SENDER:
            if protocol:
                self.add_error("protocol", _("Only recipient systems have a protocol."))
            cleaned["endpoint"] = ""
        elif kind == System.Kind.RECIPIENT:
            if not protocol:
                self.add_error("protocol", _("Choose how the recipient system gets its mail."))
            elif protocol == System.Protocol.REST_PUSH and not endpoint and "endpoint" not in self.errors:
                self.add_error("endpoint", _("A push system needs an endpoint URL."))
        return cleaned


class CertificateForm(forms.Form):
    certificate = forms.FileField(
        label=_("Certificate file"),
        help_text=_("An OCES/X.509 certificate, PEM or DER. Never upload the private key."),
    )

    def clean_certificate(self):
        upload = self.cleaned_data["certificate"]
        if upload.size > MAX_CERTIFICATE_BYTES:
            raise ValidationError(_("The file is too large to be a certificate."), code="too-large")
        return parse_certificate(upload.read())


class LogoForm(forms.Form):
    logo = forms.FileField(
        label=_("Logo"),
        help_text=_("PNG or JPEG, at most 500 KB and 2000 × 2000 pixels."),
    )

    def clean_logo(self):
        upload = self.cleaned_data["logo"]
        if upload.size > LOGO_MAX_BYTES:
            raise ValidationError(_("The logo may be at most 500 KB."), code="too-large")
        return upload.read()


def grantable_roles(organisation: Organisation) -> list[tuple[str, str]]:
    """The roles a user administrator may grant in this organisation."""
    return [
        (value, label)
        for value, label in StaffRole.Role.choices
        if value in STAFF_ROLES
        or (value == StaffRole.Role.MAILBOX_USER and organisation.kind == Organisation.Kind.COMPANY)
    ]


class RoleGrantForm(forms.Form):
    cpr = forms.CharField(
        label=_("CPR number"),
        max_length=11,
        help_text=_("10 digits. The person must have logged in to Digital Post once."),
    )
    role = forms.ChoiceField(label=_("Role"))

    def __init__(self, *args, organisation: Organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [("", _("Choose a role")), *grantable_roles(organisation)]

    def clean_cpr(self):
        try:
            cpr = validate_cpr(self.cleaned_data["cpr"])
        except ValidationError:
            raise ValidationError(_("A CPR number is 10 digits (DDMMYYXXXX)."), code="cpr-invalid") from None
        person = Person.objects.select_related("user").filter(cpr=cpr).first()
        if person is None:
            raise ValidationError(_("No person with this CPR number is known."), code="unknown")
        if person.user is None:
            raise ValidationError(_("This person has no login yet."), code="no-login")
        self.person = person
        return cpr
