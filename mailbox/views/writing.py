"""Writing in the inbox: reply, write to an authority (search, browse, deep link), drafts.

Views are thin: they read the request, call mailbox/writing.py and render. Every view needs a
context that may write (read-only access gets 403); objects are looked up within the
context's mailbox, so another mailbox's ids give 404.
"""

from __future__ import annotations

import uuid

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from contactstructure.selectors import (
    authorities_to_write_to,
    contact_group_tree,
    contact_point_for_writing,
    contact_points_search,
)
from mailbox.access import mailbox_required
from mailbox.models import Draft, MailboxItem
from mailbox.writing import (
    SendResult,
    Upload,
    WriteRefused,
    authority_message_send,
    authority_reachable,
    contact_point_limits,
    draft_delete,
    draft_get,
    draft_save,
    drafts_of,
    reply_check,
    reply_limits,
    reply_reachable,
    reply_send,
    sent_already,
)
from rights.models import Organisation

#: The plain (non-JS) search lists more than the suggestions do.
SEARCH_RESULTS = 25


def _uploads(request) -> list[Upload]:
    return [
        Upload(filename=f.name, size=f.size, file=f, content_type=f.content_type or "")
        for f in request.FILES.getlist("attachments")
    ]


def _message_uuid(request, draft: Draft | None) -> uuid.UUID:
    """The letter's messageUUID: the draft's, or the one the form was rendered with, so a
    double submit sends one letter. Anything but a version 4 UUID gets a fresh one."""
    if draft is not None:
        return draft.message_uuid
    try:
        value = uuid.UUID(request.POST.get("message_uuid", ""))
    except ValueError:
        return uuid.uuid4()
    return value if value.version == 4 else uuid.uuid4()


def _removed_attachments(request) -> list[int]:
    return [int(v) for v in request.POST.getlist("remove_attachment") if v.isdigit()]


class _DraftAlreadySent(Exception):
    def __init__(self, result: SendResult) -> None:
        self.result = result


def _draft_in_request(request, context, **match) -> Draft | None:
    raw = request.POST.get("draft") or request.GET.get("draft")
    if not raw:
        return None
    if not str(raw).isdigit():
        raise Http404("No such draft.")
    draft = draft_get(context=context, draft_id=int(raw))
    if draft is None and request.method == "POST" and request.POST.get("action") != "draft":
        # A second click on Send: the first sent the letter and deleted its draft.
        try:
            result = sent_already(
                context=context, message_uuid=uuid.UUID(request.POST.get("message_uuid", ""))
            )
        except ValueError:
            result = None
        if result is not None:
            raise _DraftAlreadySent(result)
    if draft is None or any(getattr(draft, f"{k}_id") != v.pk for k, v in match.items()):
        raise Http404("No such draft.")
    return draft


def _sent(request, result: SendResult, recipient: str):
    if result.created:
        messages.success(request, _("Your message was sent to %(name)s.") % {"name": recipient})
    else:
        messages.info(request, _("This message had already been sent."))
    try:
        return redirect(reverse("message", args=[result.sent_item.pk]))
    except NoReverseMatch:  # the reading side's message page is not there (yet)
        return redirect("inbox")


def _refused_page(request, refused: WriteRefused, status: int):
    return render(
        request, "mailbox/write/refused.html", {"errors": refused.errors.get(None, [])}, status=status
    )


def _form_values(request, draft: Draft | None) -> dict:
    if request.method == "POST":
        return {name: request.POST.get(name, "") for name in ("title", "text", "field1", "field2")}
    if draft is not None:
        return {"title": draft.label, "text": draft.text, "field1": draft.field1, "field2": draft.field2}
    return {"title": "", "text": "", "field1": "", "field2": ""}


def _errors_context(errors: dict) -> dict:
    """Errors by field, the ones for the whole form, and (field id, message) for the summary."""
    order = ["title", "field1", "field2", "text", "attachments"]
    fields = sorted(
        (name for name in errors if name is not None), key=lambda n: order.index(n) if n in order else 9
    )
    return {
        "errors": {name: errors[name] for name in fields},
        "general_errors": errors.get(None, []),
        "error_list": [(f"id_{name}", msg) for name in fields for msg in errors[name]],
    }


# --- Reply -------------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@mailbox_required(write=True)
def reply(request, item_id: int):
    context = request.mailbox_context
    item = get_object_or_404(
        MailboxItem.objects.select_related("message__sender_organisation"),
        pk=item_id,
        mailbox=context.mailbox,
        deleted_at__isnull=True,
    )
    try:
        draft = _draft_in_request(request, context, reply_to=item.message)
    except _DraftAlreadySent as sent:
        return _sent(request, sent.result, "")
    try:
        reply_check(context=context, item=item)
    except WriteRefused as refused:
        return _refused_page(request, refused, status=403)
    errors: dict = {}
    if request.method == "POST":
        values = _form_values(request, draft)
        try:
            if request.POST.get("action") == "draft":
                draft = draft_save(
                    context=context,
                    draft=draft,
                    reply_to_item=item if draft is None else None,
                    text=values["text"],
                    uploads=_uploads(request),
                    remove_attachment_ids=_removed_attachments(request),
                )
                messages.success(request, _("Your draft was saved."))
                return redirect(f"{reverse('reply', args=[item.pk])}?draft={draft.pk}")
            result = reply_send(
                context=context,
                item=item,
                text=values["text"],
                uploads=_uploads(request),
                message_uuid=_message_uuid(request, draft),
                draft=draft,
                remove_attachment_ids=_removed_attachments(request),
            )
            return _sent(request, result, item.message.sender_label or item.message.sender_organisation.name)
        except WriteRefused as refused:
            errors = refused.errors
    limits = reply_limits()
    return render(
        request,
        "mailbox/write/form.html",
        {
            "item": item,
            "original": item.message,
            "recipient_name": item.message.sender_label or item.message.sender_organisation.name,
            "values": _form_values(request, draft),
            "draft": draft,
            **_errors_context(errors),
            "limits": limits,
            "limit_mb": f"{limits.max_bytes / (1024 * 1024):.3g}",
            "message_uuid": _message_uuid(request, draft),
            "action_url": reverse("reply", args=[item.pk]),
            "unreachable": not errors and not reply_reachable(message=item.message),
        },
        status=400 if errors else 200,
    )


# --- Finding a contact point -------------------------------------------------------------


@require_GET
@mailbox_required(write=True)
def write(request):
    query = request.GET.get("q", "").strip()[:100]
    results = contact_points_search(query, limit=SEARCH_RESULTS) if query else None
    return render(
        request,
        "mailbox/write/search.html",
        {"query": query, "results": results, "authorities": authorities_to_write_to()},
    )


@require_GET
@mailbox_required(write=True)
def write_suggestions(request):
    """The htmx fragment of suggestions while typing; the plain search is the fallback."""
    query = request.GET.get("q", "").strip()[:100]
    points = contact_points_search(query) if len(query) >= 2 else []
    return render(request, "mailbox/write/_suggestions.html", {"query": query, "points": points})


@require_GET
@mailbox_required(write=True)
def write_authority(request, cvr: str):
    organisation = get_object_or_404(Organisation, cvr=cvr, kind=Organisation.Kind.AUTHORITY)
    tree = contact_group_tree(organisation)
    if tree.is_empty:
        raise Http404("This authority has no contact points.")
    return render(request, "mailbox/write/authority.html", {"tree": tree, "organisation": organisation})


# --- Writing to a contact point (the deep link) ------------------------------------------


@require_http_methods(["GET", "POST"])
@mailbox_required(write=True)
def write_contact_point(request, key: uuid.UUID):
    context = request.mailbox_context
    point = contact_point_for_writing(key=key)
    if point is None:
        refused = WriteRefused({None: [_("This contact point does not take messages.")]})
        return _refused_page(request, refused, status=404)
    try:
        draft = _draft_in_request(request, context, contact_point=point)
    except _DraftAlreadySent as sent:
        return _sent(request, sent.result, "")
    errors: dict = {}
    if request.method == "POST":
        values = _form_values(request, draft)
        try:
            if request.POST.get("action") == "draft":
                draft = draft_save(
                    context=context,
                    draft=draft,
                    point=point if draft is None else None,
                    uploads=_uploads(request),
                    remove_attachment_ids=_removed_attachments(request),
                    **values,
                )
                messages.success(request, _("Your draft was saved."))
                return redirect(
                    f"{reverse('write-contact-point', args=[point.deep_link_key])}?draft={draft.pk}"
                )
            result = authority_message_send(
                context=context,
                point=point,
                uploads=_uploads(request),
                message_uuid=_message_uuid(request, draft),
                draft=draft,
                remove_attachment_ids=_removed_attachments(request),
                **values,
            )
            return _sent(request, result, f"{point.organisation.name}, {point.label}")
        except WriteRefused as refused:
            errors = refused.errors
    limits = contact_point_limits(point)
    return render(
        request,
        "mailbox/write/form.html",
        {
            "point": point,
            "recipient_name": point.organisation.name,
            "values": _form_values(request, draft),
            "draft": draft,
            **_errors_context(errors),
            "limits": limits,
            "limit_mb": f"{limits.max_bytes / (1024 * 1024):.3g}",
            "message_uuid": _message_uuid(request, draft),
            "action_url": reverse("write-contact-point", args=[point.deep_link_key]),
            "unreachable": not errors
            and not authority_reachable(organisation=point.organisation, point=point),
        },
        status=400 if errors else 200,
    )


# --- Drafts ------------------------------------------------------------------------------


@require_GET
@mailbox_required(write=True)
def drafts(request):
    return render(request, "mailbox/write/drafts.html", {"drafts": drafts_of(request.mailbox_context)})


@require_GET
@mailbox_required(write=True)
def draft_open(request, draft_id: int):
    context = request.mailbox_context
    draft = draft_get(context=context, draft_id=draft_id)
    if draft is None:
        raise Http404("No such draft.")
    if draft.contact_point_id is not None:
        return redirect(
            f"{reverse('write-contact-point', args=[draft.contact_point.deep_link_key])}?draft={draft.pk}"
        )
    item = get_object_or_404(
        MailboxItem, mailbox=context.mailbox, message=draft.reply_to, deleted_at__isnull=True
    )
    return redirect(f"{reverse('reply', args=[item.pk])}?draft={draft.pk}")


@require_POST
@mailbox_required(write=True)
def draft_remove(request, draft_id: int):
    context = request.mailbox_context
    draft = draft_get(context=context, draft_id=draft_id)
    if draft is None:
        raise Http404("No such draft.")
    draft_delete(context=context, draft=draft)
    messages.success(request, _("The draft was deleted."))
    if request.headers.get("HX-Request"):
        return HttpResponse("")
    return redirect("drafts")
