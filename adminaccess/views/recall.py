"""Recall (tilbagekald): find held value-dated messages, recall one or a whole mass send."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _t
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from adminaccess.access import Role, staff_required
from adminaccess.models import System
from adminaccess.recall import messages_recall_mass
from adminaccess.selectors import RecallFilter, held_messages
from adminaccess.views.events import DateInput, clean_identifier, style_form
from mailbox.models import Message
from mailbox.sending import RecallRefused, memo_recall

#: Held messages listed on the search page; the count above the list is exact.
LIST_LIMIT = 100
MASS_FIELDS = ("sender_system", "value_date", "batch_id")


class RecallSearchForm(forms.Form):
    sender_system = forms.ModelChoiceField(
        label=_("Sender system"),
        required=False,
        queryset=System.objects.none(),
        empty_label=_("All sender systems"),
    )
    value_date = forms.DateField(label=_("Value date"), required=False, widget=DateInput())
    message_uuid = forms.UUIDField(
        label=_("Message UUID"),
        required=False,
        error_messages={"invalid": _("Enter a message UUID, e.g. 123e4567-e89b-12d3-a456-426614174000.")},
    )
    recipient = forms.CharField(
        label=_("Recipient"),
        required=False,
        max_length=20,
        help_text=_("CPR number (10 digits) or CVR number (8 digits)"),
    )
    batch_id = forms.UUIDField(
        label=_("Batch"),
        required=False,
        help_text=_("The batch id of a batch send"),
        error_messages={"invalid": _("Enter a batch id (a UUID).")},
    )

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sender_system"].queryset = System.objects.filter(
            organisation=organisation, kind=System.Kind.SENDER
        ).order_by("name")

    def clean_recipient(self) -> str:
        return clean_identifier(self.cleaned_data["recipient"])

    def recall_filter(self) -> RecallFilter:
        data = self.cleaned_data
        return RecallFilter(
            sender_system=data.get("sender_system"),
            value_date=data.get("value_date"),
            message_uuid=data.get("message_uuid"),
            recipient=data.get("recipient") or "",
            batch_id=data.get("batch_id"),
        )

    def mass_filter(self) -> RecallFilter:
        """Only what names a mass send: sender system + value date, or a batch."""
        data = self.cleaned_data
        return RecallFilter(
            sender_system=data.get("sender_system"),
            value_date=data.get("value_date"),
            batch_id=data.get("batch_id"),
        )


def _form(request, data) -> RecallSearchForm:
    bound = data if any(name in data for name in RecallSearchForm.base_fields) else None
    return style_form(RecallSearchForm(bound, organisation=request.staff.organisation))


def _mass_query(flt: RecallFilter) -> str:
    params = {}
    if flt.sender_system is not None:
        params["sender_system"] = flt.sender_system.pk
    if flt.value_date is not None:
        params["value_date"] = flt.value_date.isoformat()
    if flt.batch_id is not None:
        params["batch_id"] = str(flt.batch_id)
    return urlencode(params)


@staff_required(Role.RECALL_ADMINISTRATOR)
def recall(request):
    form = _form(request, request.GET)
    context = {"form": form, "held": [], "count": None}
    if form.is_bound and not form.is_valid():
        return render(request, "adminaccess/recall/search.html", context, status=400)
    flt = form.recall_filter() if form.is_bound else RecallFilter()
    organisation = request.staff.organisation
    held = held_messages(organisation=organisation, flt=flt)
    context.update(held=list(held[:LIST_LIMIT]), count=held.count(), limit=LIST_LIMIT)
    mass = form.mass_filter() if form.is_bound else RecallFilter()
    if mass.is_mass_send:
        # The whole send, whatever else narrows the list (a recipient, one UUID).
        context.update(
            mass_count=held_messages(organisation=organisation, flt=mass).count(),
            mass_query=_mass_query(mass),
        )
    return render(request, "adminaccess/recall/search.html", context)


def _message_or_404(request, message_uuid: uuid.UUID) -> Message:
    message = (
        Message.objects.filter(sender_organisation=request.staff.organisation, message_uuid=message_uuid)
        .select_related("sender_system")
        .first()
    )
    if message is None:
        raise Http404("No such message sent by this organisation.")
    return message


RECALLABLE = (Message.State.HELD, Message.State.ACCEPTED)


@staff_required(Role.RECALL_ADMINISTRATOR)
def recall_one(request, message_uuid: uuid.UUID):
    message = _message_or_404(request, message_uuid)
    context = {"message": message, "recallable": message.state in RECALLABLE, "error": ""}
    if request.method != "POST":
        return render(request, "adminaccess/recall/confirm_one.html", context)
    try:
        memo_recall(
            message_uuid=message_uuid, organisation=request.staff.organisation, actor_user=request.user
        )
    except RecallRefused as refused:
        if refused.status == 404:
            raise Http404(refused.message) from None
        message.refresh_from_db()
        context.update(
            message=message,
            recallable=False,
            error=_t("The message was already recalled.")
            if refused.code == "ALREADY_RECALLED"
            else _t("The message has already been delivered and can no longer be recalled."),
        )
        return render(request, "adminaccess/recall/confirm_one.html", context, status=409)
    messages.success(request, _t("The message “%(label)s” was recalled.") % {"label": message.label})
    return redirect("adminaccess:recall")


@staff_required(Role.RECALL_ADMINISTRATOR)
def recall_mass(request):
    data = request.POST if request.method == "POST" else request.GET
    # Always bound: with nothing chosen, the answer is the error below.
    form = RecallSearchForm(data, organisation=request.staff.organisation)
    if form.is_valid() and not form.mass_filter().is_mass_send:
        form.add_error(
            None, _t("Choose a sender system and a value date, or a batch, to recall a mass send.")
        )
    if form.errors:
        context = {"form": style_form(form), "held": [], "count": None}
        return render(request, "adminaccess/recall/search.html", context, status=400)
    flt = form.mass_filter()
    organisation = request.staff.organisation
    if request.method != "POST":
        held = held_messages(organisation=organisation, flt=flt)
        context = {"form": form, "flt": flt, "count": held.count()}
        return render(request, "adminaccess/recall/confirm_mass.html", context)
    result = messages_recall_mass(organisation=organisation, flt=flt, actor_user=request.user)
    recalled = ngettext(
        "%(count)d message was recalled.", "%(count)d messages were recalled.", result.recalled
    ) % {"count": result.recalled}
    messages.success(request, recalled)
    if result.already_gone:
        gone = ngettext(
            "%(count)d message had already been released and was not recalled.",
            "%(count)d messages had already been released and were not recalled.",
            result.already_gone,
        ) % {"count": result.already_gone}
        messages.warning(request, gone)
    return redirect(reverse("adminaccess:recall") + "?" + _mass_query(flt))
