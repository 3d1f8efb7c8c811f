"""Forms of the contact-structure editor. They check what a page can tie to a field; the
services check everything again and have the last word."""

from __future__ import annotations

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from contactstructure.importexport import MAX_FILE_BYTES, group_paths
from contactstructure.models import (
    CITIZEN_MAX_ATTACHMENTS,
    CITIZEN_MAX_BYTES,
    ContactGroup,
    ContactPoint,
    RoutingRule,
)
from contactstructure.services import (
    CONTACT_POINT_FIELDS,
    GROUP_PATH_SEPARATOR,
    contact_point_field_errors,
    descendant_ids,
    kle_code_error,
    recipient_systems_for,
)
from rights.models import Organisation

CITIZEN_MAX_KB = CITIZEN_MAX_BYTES // 1024


class DkfdsForm(forms.Form):
    """Gives widgets the design system's classes and ties hints and errors to their input."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput):
                css = "form-checkbox"
            elif isinstance(widget, forms.Select):
                css = "form-select"
            elif isinstance(widget, forms.FileInput):
                css = ""
            else:
                css = "form-input"
            if css:
                widget.attrs.setdefault("class", css)
            if field.help_text:
                widget.attrs["aria-describedby"] = f"{self[name].auto_id}-hint"

    def add_error(self, field, error):
        super().add_error(field, error)
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                ids = {f"{self[name].auto_id}-error"}
                if self.fields[name].help_text:
                    ids.add(f"{self[name].auto_id}-hint")
                widget.attrs["aria-describedby"] = " ".join(sorted(ids))
                widget.attrs["aria-invalid"] = "true"

    def add_service_errors(self, error: ValidationError, renamed: dict[str, str] | None = None) -> None:
        """Show a service's refusal on the fields it names (the form as a whole otherwise)."""
        renamed = renamed or {}
        if not hasattr(error, "error_dict"):
            self.add_error(None, error)
            return
        for name, errors in error.error_dict.items():
            name = renamed.get(name, name)
            self.add_error(name if name in self.fields else None, errors)


def _split(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class GroupChoiceField(forms.ModelChoiceField):
    def __init__(self, *args, paths: dict[int, tuple[str, ...]], **kwargs):
        self.paths = paths
        super().__init__(*args, **kwargs)

    def label_from_instance(self, obj):
        return GROUP_PATH_SEPARATOR.join(self.paths.get(obj.pk, (obj.label,)))


def _group_field(
    organisation: Organisation, *, exclude: set[int] = frozenset(), **kwargs
) -> GroupChoiceField:
    paths = group_paths(organisation)
    choices = sorted((pk for pk in paths if pk not in exclude), key=lambda pk: paths[pk])
    queryset = ContactGroup.objects.filter(pk__in=choices)
    field = GroupChoiceField(queryset=queryset, required=False, paths=paths, **kwargs)
    # Show the tree order, not the model's ordering.
    field.choices = [("", field.empty_label)] + [(pk, GROUP_PATH_SEPARATOR.join(paths[pk])) for pk in choices]
    return field


class SystemChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        if not obj.is_active:
            return _("%(name)s (deactivated)") % {"name": obj.name}
        return obj.name


class ContactGroupForm(DkfdsForm):
    label = forms.CharField(label=_("Label"), max_length=200)
    info_text = forms.CharField(
        label=_("Info text"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("A short text shown under the group when citizens browse the structure."),
    )
    position = forms.IntegerField(
        label=_("Position"),
        min_value=0,
        required=False,
        help_text=_("Groups are shown in this order among their siblings (0 first)."),
    )
    is_visible = forms.BooleanField(label=_("Visible to citizens"), required=False, initial=True)

    def __init__(self, *args, organisation: Organisation, group: ContactGroup | None = None, **kwargs):
        if group is not None:
            kwargs.setdefault(
                "initial",
                {
                    "label": group.label,
                    "info_text": group.info_text,
                    "parent": group.parent_id,
                    "position": group.position,
                    "is_visible": group.is_visible,
                },
            )
        super().__init__(*args, **kwargs)
        exclude: set[int] = set()
        if group is not None:
            exclude = {group.pk} | descendant_ids(group)
        self.fields = {
            "label": self.fields["label"],
            "parent": _group_field(
                organisation, exclude=exclude, label=_("Placed in"), empty_label=_("(top level)")
            ),
            **{name: self.fields[name] for name in ("info_text", "position", "is_visible")},
        }
        self.fields["parent"].widget.attrs["class"] = "form-select"
        if group is not None:
            self.fields["position"].required = True


class ContactPointForm(DkfdsForm):
    contact_point_id = forms.CharField(
        label=_("Id"),
        max_length=64,
        help_text=_("The contactPointID sender systems use in MeMo to address this contact point."),
    )
    label = forms.CharField(label=_("Label"), max_length=200)
    info_text = forms.CharField(
        label=_("Info text"), required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    keywords = forms.CharField(
        label=_("Search keywords"), required=False, help_text=_("Separated by commas, e.g. pas, kørekort.")
    )
    kle_codes = forms.CharField(
        label=_("KLE codes"),
        required=False,
        help_text=_("Separated by commas, each NN, NN.NN or NN.NN.NN, e.g. 05.04.00."),
    )
    field1_label = forms.CharField(label=_("Free-text field 1"), max_length=100, required=False)
    field1_required = forms.BooleanField(label=_("Field 1 must be filled in"), required=False)
    field2_label = forms.CharField(label=_("Free-text field 2"), max_length=100, required=False)
    field2_required = forms.BooleanField(label=_("Field 2 must be filled in"), required=False)
    max_size_kb = forms.IntegerField(
        label=_("Largest message (KB)"),
        min_value=1,
        max_value=CITIZEN_MAX_KB,
        initial=CITIZEN_MAX_KB,
        help_text=_("At most 10240 KB (10 MB), the citizen limit."),
    )
    max_attachments = forms.IntegerField(
        label=_("Most attachments"),
        min_value=0,
        max_value=CITIZEN_MAX_ATTACHMENTS,
        initial=CITIZEN_MAX_ATTACHMENTS,
        help_text=_("At most 10, the citizen limit."),
    )
    is_visible = forms.BooleanField(label=_("Visible to citizens"), required=False, initial=True)
    is_active = forms.BooleanField(label=_("Active (citizens can write to it)"), required=False, initial=True)

    def __init__(self, *args, organisation: Organisation, contact_point=None, **kwargs):
        self.contact_point = contact_point
        self.organisation = organisation
        if contact_point is not None:
            kwargs.setdefault(
                "initial",
                {
                    "contact_point_id": contact_point.contact_point_id,
                    "label": contact_point.label,
                    "group": contact_point.group_id,
                    "info_text": contact_point.info_text,
                    "keywords": ", ".join(contact_point.keywords),
                    "kle_codes": ", ".join(contact_point.kle_codes),
                    "field1_label": contact_point.field1_label,
                    "field1_required": contact_point.field1_required,
                    "field2_label": contact_point.field2_label,
                    "field2_required": contact_point.field2_required,
                    "max_size_kb": max(1, contact_point.max_size_bytes // 1024),
                    "max_attachments": contact_point.max_attachments,
                    "is_visible": contact_point.is_visible,
                    "is_active": contact_point.is_active,
                    "recipient_system": contact_point.recipient_system_id,
                },
            )
        super().__init__(*args, **kwargs)
        current = contact_point.recipient_system if contact_point is not None else None
        fields = dict(self.fields)
        self.fields = {
            "contact_point_id": fields.pop("contact_point_id"),
            "label": fields.pop("label"),
            "group": _group_field(organisation, label=_("Group"), empty_label=_("(not in a group)")),
            **fields,
            "recipient_system": SystemChoiceField(
                label=_("Recipient system"),
                queryset=recipient_systems_for(organisation, current),
                required=False,
                empty_label=_("The organisation's default recipient system"),
                help_text=_("Mail written to this contact point goes to this system."),
                widget=forms.Select(attrs={"class": "form-select"}),
            ),
        }
        self.fields["group"].widget.attrs["class"] = "form-select"
        self.fields["recipient_system"].widget.attrs["aria-describedby"] = (
            f"{self['recipient_system'].auto_id}-hint"
        )

    def clean(self):
        data = super().clean()
        data["keywords"] = _split(data.get("keywords", ""))
        data["kle_codes"] = _split(data.get("kle_codes", ""))
        kb = data.get("max_size_kb")
        if self.contact_point is not None and "max_size_kb" not in self.changed_data:
            # Kept as it was to the byte, even where the KB shown was rounded.
            data["max_size_bytes"] = self.contact_point.max_size_bytes
        else:
            data["max_size_bytes"] = kb * 1024 if kb is not None else None
        if self.errors:
            return data
        errors = contact_point_field_errors(
            **{
                name: data.get(name)
                for name in (
                    "contact_point_id",
                    "label",
                    "kle_codes",
                    "field1_label",
                    "field1_required",
                    "field2_label",
                    "field2_required",
                    "max_size_bytes",
                    "max_attachments",
                )
            }
        )
        for name, message in errors.items():
            self.add_error("max_size_kb" if name == "max_size_bytes" else name, message)
        same_id = ContactPoint.objects.filter(
            organisation=self.organisation, contact_point_id=data.get("contact_point_id", "")
        )
        if self.contact_point is not None:
            same_id = same_id.exclude(pk=self.contact_point.pk)
        if "contact_point_id" not in self.errors and same_id.exists():
            self.add_error("contact_point_id", _("Another contact point already has this id."))
        return data

    def service_values(self) -> dict:
        return {name: self.cleaned_data[name] for name in CONTACT_POINT_FIELDS}


class RoutingRuleForm(DkfdsForm):
    # Shown on the contact point's page beside its own form: ids must not collide.
    prefix = "rule"

    priority = forms.IntegerField(
        label=_("Priority"),
        min_value=0,
        max_value=32767,
        initial=100,
        help_text=_("Rules are tried from the lowest number; the first that matches decides."),
    )
    kle_prefix = forms.CharField(
        label=_("KLE code or prefix"),
        max_length=20,
        required=False,
        help_text=_("E.g. 27.24 matches every message with a KLE code starting 27.24."),
    )
    content_key = forms.CharField(
        label=_("Content key"),
        max_length=100,
        required=False,
        help_text=_("The name of a MeMo additional content data field."),
    )
    content_value = forms.CharField(label=_("Content value"), max_length=200, required=False)

    def __init__(self, *args, organisation: Organisation, rule: RoutingRule | None = None, **kwargs):
        if rule is not None:
            kwargs.setdefault(
                "initial",
                {
                    "priority": rule.priority,
                    "kle_prefix": rule.kle_prefix,
                    "content_key": rule.content_key,
                    "content_value": rule.content_value,
                    "recipient_system": rule.recipient_system_id,
                },
            )
        super().__init__(*args, **kwargs)
        current = rule.recipient_system if rule is not None else None
        self.fields["recipient_system"] = SystemChoiceField(
            label=_("Send to recipient system"),
            queryset=recipient_systems_for(organisation, current),
            widget=forms.Select(attrs={"class": "form-select"}),
        )

    def clean(self):
        data = super().clean()
        prefix = (data.get("kle_prefix") or "").strip()
        if prefix and kle_code_error(prefix):
            self.add_error("kle_prefix", kle_code_error(prefix))
        if not prefix and not (data.get("content_key") or "").strip() and "kle_prefix" not in self.errors:
            self.add_error("kle_prefix", _("A rule needs a KLE prefix or a content key."))
        if (data.get("content_value") or "").strip() and not (data.get("content_key") or "").strip():
            self.add_error("content_key", _("A content value needs a content key."))
        return data


class ImportUploadForm(DkfdsForm):
    file = forms.FileField(
        label=_("File (XLSX or CSV)"),
        help_text=_("At most 5 MB and 5000 contact points, with the columns of an export."),
        widget=forms.FileInput(attrs={"accept": ".xlsx,.csv"}),
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if upload.size > MAX_FILE_BYTES:
            raise ValidationError(_("The file is larger than 5 MB; split it into smaller files."))
        name = upload.name.lower()
        if not name.endswith((".xlsx", ".csv")):
            raise ValidationError(_("Only XLSX and CSV files can be imported."))
        return upload
