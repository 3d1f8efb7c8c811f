"""The organisation's event log (hændelseslog): filter, page through, export as CSV."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable, Iterator

from django import forms
from django.http import StreamingHttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from adminaccess.access import Role, staff_required
from adminaccess.models import Event, System
from adminaccess.selectors import Cursor, EventFilter, event_actor, events_for_export, events_page

_IDENTIFIER = re.compile(r"^(?:[0-9]{8}|[0-9]{10})$")


# --- Shared by the event-log, recall and statistics pages ---------------------------------


def style_form(form: forms.Form) -> forms.Form:
    """DKFDS classes on every widget, and errors and hints tied to their field."""
    for name, field in form.fields.items():
        widget = field.widget
        css = "form-select" if isinstance(widget, forms.Select) else "form-input"
        widget.attrs.setdefault("class", css)
        bound = form[name]
        described = []
        if field.help_text:
            described.append(f"{bound.auto_id}-hint")
        if form.is_bound and bound.errors:
            described.append(f"{bound.auto_id}-error")
            widget.attrs["aria-invalid"] = "true"
        if described:
            widget.attrs["aria-describedby"] = " ".join(described)
    return form


def clean_identifier(value: str) -> str:
    """A CPR (10 digits) or CVR (8 digits) number, written with or without a dash or spaces."""
    value = re.sub(r"[\s-]", "", value or "")
    if value and not _IDENTIFIER.match(value):
        raise forms.ValidationError(_("Enter a CPR number (10 digits) or a CVR number (8 digits)."))
    return value


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self):
        super().__init__(format="%Y-%m-%d")


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value) -> str:
    """A cell a spreadsheet shows as text: one that starts like a formula gets a leading quote."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


class _Echo:
    def write(self, value: str) -> str:
        return value


def csv_response(rows: Iterable[Iterable], filename: str) -> StreamingHttpResponse:
    """Stream ``rows`` (the first is the header) as CSV, every cell formula-safe."""
    writer = csv.writer(_Echo())

    def lines() -> Iterator[str]:
        yield "\ufeff"  # so spreadsheet programs read the file as UTF-8
        for row in rows:
            yield writer.writerow([csv_safe(cell) for cell in row])

    response = StreamingHttpResponse(lines(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


# --- The event log -------------------------------------------------------------------------


class EventFilterForm(forms.Form):
    date_from = forms.DateField(label=_("From date"), required=False, widget=DateInput())
    date_to = forms.DateField(label=_("To date"), required=False, widget=DateInput())
    tag = forms.ChoiceField(label=_("Event"), required=False)
    system = forms.ModelChoiceField(
        label=_("System"), required=False, queryset=System.objects.none(), empty_label=_("All systems")
    )
    subject = forms.CharField(
        label=_("Person or company"),
        required=False,
        max_length=20,
        help_text=_("CPR number (10 digits) or CVR number (8 digits)"),
    )
    message_uuid = forms.UUIDField(
        label=_("Message UUID"),
        required=False,
        error_messages={"invalid": _("Enter a message UUID, e.g. 123e4567-e89b-12d3-a456-426614174000.")},
    )

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tag"].choices = [("", _("All events")), *Event.Tag.choices]
        # Only the organisation's own systems: another's id is simply not a valid choice.
        self.fields["system"].queryset = System.objects.filter(organisation=organisation).order_by("name")

    def clean_subject(self) -> str:
        return clean_identifier(self.cleaned_data["subject"])

    def clean(self):
        cleaned = super().clean()
        date_from, date_to = cleaned.get("date_from"), cleaned.get("date_to")
        if date_from and date_to and date_from > date_to:
            self.add_error("date_to", _("The to date must be on or after the from date."))
        return cleaned

    def event_filter(self) -> EventFilter:
        data = self.cleaned_data
        return EventFilter(
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
            tag=data.get("tag") or "",
            system=data.get("system"),
            subject=data.get("subject") or "",
            message_uuid=data.get("message_uuid"),
        )


def _form(request) -> EventFilterForm:
    data = request.GET if any(name in request.GET for name in EventFilterForm.base_fields) else None
    return style_form(EventFilterForm(data, organisation=request.staff.organisation))


def _details(event: Event) -> list[tuple[str, str]]:
    details = event.details if isinstance(event.details, dict) else {"value": event.details}
    return [
        (str(key), value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))
        for key, value in details.items()
    ]


ACTOR_KINDS = {"staff": _("Staff member"), "person": _("Person"), "system": _("System"), "": _("The hub")}


def _rows(events: Iterable[Event]) -> list[dict]:
    rows = []
    for event in events:
        kind, name = event_actor(event)
        rows.append(
            {"event": event, "actor_kind": ACTOR_KINDS[kind], "actor": name, "details": _details(event)}
        )
    return rows


@staff_required(Role.EVENT_LOG_READER)
def events(request):
    form = _form(request)
    context = {"form": form, "rows": [], "page": None, "filtered": form.is_bound}
    if form.is_bound and not form.is_valid():
        return render(request, "adminaccess/events/list.html", context, status=400)
    flt = form.event_filter() if form.is_bound else EventFilter()
    after = Cursor.decode(request.GET.get("after", ""))
    before = None if after else Cursor.decode(request.GET.get("before", ""))
    page = events_page(organisation=request.staff.organisation, flt=flt, after=after, before=before)
    context.update(page=page, rows=_rows(page.events))
    return render(request, "adminaccess/events/list.html", context)


@staff_required(Role.EVENT_LOG_READER)
def events_export(request):
    form = _form(request)
    if form.is_bound and not form.is_valid():
        context = {"form": form, "rows": [], "page": None, "filtered": True}
        return render(request, "adminaccess/events/list.html", context, status=400)
    flt = form.event_filter() if form.is_bound else EventFilter()
    header = [
        "occurred_at",
        "tag",
        "actor_kind",
        "actor",
        "system",
        "message_uuid",
        "subject",
        "details",
    ]

    def rows():
        yield header
        for event in events_for_export(organisation=request.staff.organisation, flt=flt):
            kind, name = event_actor(event)
            yield [
                timezone.localtime(event.occurred_at).isoformat(),
                event.tag,
                kind,
                name,
                event.system.name if event.system_id and event.system else "",
                event.message_uuid or "",
                event.subject,
                json.dumps(event.details, ensure_ascii=False, sort_keys=True) if event.details else "",
            ]

    stamp = timezone.localdate().isoformat()
    return csv_response(rows(), f"event-log-{request.staff.organisation.cvr}-{stamp}.csv")
