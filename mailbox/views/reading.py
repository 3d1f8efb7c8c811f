"""The inbox: folders, the listing, one message, its documents and actions, and the changes
a reader makes (flag, move, bin, own folders).

Views are thin: they look objects up within ``request.mailbox_context`` (so another mailbox's
ids give 404), validate input with a form, and call a service (mailbox/reading.py) or a
selector (mailbox/selectors.py). Changes need ``@mailbox_required(write=True)``: read-only
access gets 403 before anything is looked up.
"""

from __future__ import annotations

import re

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from mailbox import reading as services
from mailbox import selectors
from mailbox.access import mailbox_required, mailbox_switch, person_for_user
from mailbox.models import Folder
from mailbox.navigation import url_or_none
from mailbox.services import document_file_content

PAGE_SIZE = 25
#: Types a browser may show in the page; anything else is only ever downloaded.
INLINE_TYPES = {"application/pdf", "text/plain", "text/html"}
MIME_TYPE = re.compile(r"^[a-z0-9][a-z0-9!#$&^_.+-]*/[a-z0-9][a-z0-9!#$&^_.+-]*$")


def home(request):
    return render(request, "home.html", {"person": person_for_user(request.user)})


# --- Listing -----------------------------------------------------------------------------------


class ListingForm(forms.Form):
    """The listing's query string: sort, filters, search. Anything invalid means the default."""

    SORT_CHOICES = [
        ("-received", gettext_lazy("Newest first")),
        ("received", gettext_lazy("Oldest first")),
        ("sender", gettext_lazy("Sender A-Z")),
        ("-sender", gettext_lazy("Sender Z-A")),
        ("title", gettext_lazy("Title A-Z")),
        ("-title", gettext_lazy("Title Z-A")),
    ]
    q = forms.CharField(label=gettext_lazy("Search"), required=False, max_length=200)
    sort = forms.ChoiceField(label=gettext_lazy("Sort by"), choices=SORT_CHOICES, required=False)
    unread = forms.BooleanField(label=gettext_lazy("Only unread"), required=False)
    deadline = forms.BooleanField(label=gettext_lazy("Only with a deadline"), required=False)
    sender = forms.CharField(label=gettext_lazy("Sender"), required=False, max_length=64)

    def listing(self) -> selectors.Listing:
        data = self.cleaned_data if self.is_valid() else {}
        return selectors.Listing(
            sort=data.get("sort") or selectors.DEFAULT_SORT,
            unread_only=bool(data.get("unread")),
            sender=data.get("sender") or "",
            has_deadline=bool(data.get("deadline")),
            search=(data.get("q") or "").strip(),
        )


def _row_urls(items) -> None:
    """Each row's message and flag URLs, reversed once per page instead of twice per row."""
    sentinel = 987654321
    message_url = reverse("message", args=[sentinel]).partition(str(sentinel))
    flag_url = reverse("message-flag", args=[sentinel]).partition(str(sentinel))
    for item in items:
        item.url = f"{message_url[0]}{item.pk}{message_url[2]}"
        item.flag_url = f"{flag_url[0]}{item.pk}{flag_url[2]}"


def _query_without(request, *names: str) -> str:
    query = request.GET.copy()
    for name in names:
        query.pop(name, None)
    return query.urlencode()


def _folder_page(request, folder: Folder | None = None):
    """A folder's listing; the inbox when ``folder`` is None (read with the menu's folders)."""
    context = request.mailbox_context
    folders = selectors.folders_with_unread(mailbox=context.mailbox)
    if folder is None:
        folder = selectors.folder_of_kind(folders, Folder.Kind.INBOX)
    else:
        folder = next((f for f in folders if f.pk == folder.pk), folder)
    form = ListingForm(request.GET)
    listing = form.listing()
    partial = request.headers.get("HX-Request") and request.headers.get("HX-Target") == "mailbox-listing"
    # One query: the folder's count (an unfiltered pager) and the key of its sender list (the
    # full page's filter); the listing alone, filtered, needs neither.
    filtered = listing.search or listing.sender or listing.has_deadline or listing.unread_only
    summary = (
        None if partial and filtered else selectors.folder_summary(mailbox=context.mailbox, folder=folder)
    )
    page = selectors.mailbox_items_page(
        mailbox=context.mailbox,
        folder=folder,
        listing=listing,
        number=request.GET.get("page"),
        per_page=PAGE_SIZE,
        summary=summary,
    )
    _row_urls(page.object_list)
    services.mailbox_read_log(
        context=context, details={"read": "folder", "folder": folder.name, "page": page.number}
    )
    data = {
        "folder": folder,
        "folders": folders,
        "form": form,
        "listing": listing,
        "page": page,
        "items": page.object_list,
        "page_range": page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1),
        "query": _query_without(request, "page"),
        "sort_query": _query_without(request, "page", "sort"),
        "is_sent": folder.kind in (Folder.Kind.SENT, Folder.Kind.DRAFTS),
        "is_bin": folder.kind == Folder.Kind.BIN,
        # Where the selection may move letters: the inbox and own folders, not where they are.
        "move_targets": [f for f in folders if f.kind in services.MOVE_TARGETS and f.pk != folder.pk],
        "now": timezone.now(),
    }
    if partial:
        return render(request, "mailbox/_listing.html", data)
    # Only the full page has the sender filter: the listing alone does not read it.
    data["senders"] = selectors.senders_in_folder(mailbox=context.mailbox, folder=folder, summary=summary)
    return render(request, "mailbox/inbox.html", data)


@require_GET
@mailbox_required
def inbox(request):
    return _folder_page(request)


@require_GET
@mailbox_required
def folder(request, folder_id: int):
    folder = get_object_or_404(Folder, pk=folder_id, mailbox=request.mailbox_context.mailbox)
    if folder.kind == Folder.Kind.INBOX:
        return redirect("inbox")
    if folder.kind == Folder.Kind.DRAFTS and (drafts := url_or_none("drafts")):
        return redirect(drafts)
    return _folder_page(request, folder)


# --- One message -------------------------------------------------------------------------------


def _item_or_404(request, item_id: int):
    try:
        return selectors.mailbox_item_get(mailbox=request.mailbox_context.mailbox, item_id=item_id)
    except ObjectDoesNotExist:
        raise Http404("No such letter in this mailbox.") from None


@require_GET
@mailbox_required
def message(request, item_id: int):
    context = request.mailbox_context
    try:
        item = selectors.mailbox_item_for_page(mailbox=context.mailbox, item_id=item_id)
    except ObjectDoesNotExist:
        raise Http404("No such letter in this mailbox.") from None
    services.mailbox_item_open(context=context, item=item)
    folders = selectors.folders_with_unread(mailbox=context.mailbox)
    documents = list(item.message.documents.all())
    actions = [action for document in documents for action in document.actions.all()]
    reply_url = url_or_none("reply", item.pk) if item.message.reply_allowed and context.can_write else None
    return render(
        request,
        "mailbox/message.html",
        {
            "item": item,
            "message": item.message,
            "folder": next((f for f in folders if f.pk == item.folder_id), item.folder),
            "folders": folders,
            "move_targets": selectors.folders_for_move(folders=folders, current=item.folder),
            "documents": documents,
            "actions": actions,
            "reply_url": reply_url,
            "inline_types": INLINE_TYPES,
            "now": timezone.now(),
        },
    )


def _mime_type(value: str) -> str:
    value = value.split(";")[0].strip().lower()
    return value if MIME_TYPE.match(value) else "application/octet-stream"


@require_GET
@mailbox_required
def document(request, item_id: int, file_id: int):
    """A document file: shown in the browser where that is safe, downloaded otherwise."""
    context = request.mailbox_context
    try:
        item, file = selectors.document_file_get(mailbox=context.mailbox, item_id=item_id, file_id=file_id)
    except ObjectDoesNotExist:
        raise Http404("No such document in this mailbox.") from None
    data = document_file_content(file)
    services.mailbox_read_log(
        context=context, message=item.message, details={"read": "document", "file": file.filename}
    )
    mime_type = _mime_type(file.mime_type)
    inline = mime_type in INLINE_TYPES and request.GET.get("download") != "1"
    if mime_type.startswith("text/"):
        mime_type += "; charset=utf-8"
    response = HttpResponse(data, content_type=mime_type)
    response["Content-Disposition"] = content_disposition_header(not inline, file.filename)
    response["X-Content-Type-Options"] = "nosniff"
    # The letter's HTML is the sender's: no scripts, no forms, no same-origin access.
    response["Content-Security-Policy"] = "sandbox"
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@mailbox_required
def calendar(request, item_id: int, action_id: int):
    """An appointment (MeMo reservation) as an .ics file for the reader's calendar."""
    context = request.mailbox_context
    try:
        item, action = selectors.action_get(mailbox=context.mailbox, item_id=item_id, action_id=action_id)
    except ObjectDoesNotExist:
        raise Http404("No such appointment in this mailbox.") from None
    if not action.reservation:
        raise Http404("This action is not an appointment.")
    services.mailbox_read_log(context=context, message=item.message, details={"read": "calendar"})
    response = HttpResponse(services.reservation_ics(action), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = content_disposition_header(True, f"appointment-{action.pk}.ics")
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- Changes -----------------------------------------------------------------------------------


def _back(request, default: str):
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return redirect(target)
    return redirect(default)


def _folder_url(folder: Folder) -> str:
    if folder.kind == Folder.Kind.INBOX:
        return reverse("inbox")
    return reverse("folder", args=[folder.pk])


@require_POST
@mailbox_required(write=True)
def flag(request, item_id: int):
    item = _item_or_404(request, item_id)
    flagged = request.POST.get("flagged") == "1"
    services.mailbox_item_flag(context=request.mailbox_context, item=item, flagged=flagged)
    if request.headers.get("HX-Request"):
        return render(
            request,
            "mailbox/_flag.html",
            {
                "item": item,
                "next": request.POST.get("next", ""),
                "compact": request.POST.get("compact") == "1",
            },
        )
    messages.success(request, _("The letter is flagged.") if flagged else _("The flag is removed."))
    return _back(request, reverse("message", args=[item.pk]))


@require_POST
@mailbox_required(write=True)
def mark_unread(request, item_id: int):
    item = _item_or_404(request, item_id)
    services.mailbox_item_mark_unread(context=request.mailbox_context, item=item)
    messages.success(request, _("The letter is marked as unread."))
    return redirect(_folder_url(item.folder))


def _refused(request, item, error: ValidationError):
    messages.error(request, " ".join(error.messages))
    return redirect("message", item.pk)


@require_POST
@mailbox_required(write=True)
def move(request, item_id: int):
    context = request.mailbox_context
    item = _item_or_404(request, item_id)
    try:
        target = Folder.objects.get(pk=int(request.POST.get("folder", "")), mailbox=context.mailbox)
    except (ValueError, Folder.DoesNotExist):
        messages.error(request, _("Choose a folder to move the letter to."))
        return redirect("message", item.pk)
    try:
        services.mailbox_item_move(context=context, item=item, folder=target)
    except ValidationError as error:
        return _refused(request, item, error)
    messages.success(request, _("The letter is moved."))
    return redirect("message", item.pk)


@require_POST
@mailbox_required(write=True)
def delete(request, item_id: int):
    item = _item_or_404(request, item_id)
    came_from = item.folder
    try:
        services.mailbox_item_delete(context=request.mailbox_context, item=item)
    except ValidationError as error:
        return _refused(request, item, error)
    messages.success(request, _("The letter is in the bin."))
    return redirect(_folder_url(came_from))


@require_POST
@mailbox_required(write=True)
def restore(request, item_id: int):
    item = _item_or_404(request, item_id)
    try:
        services.mailbox_item_restore(context=request.mailbox_context, item=item)
    except ValidationError as error:
        return _refused(request, item, error)
    messages.success(request, _("The letter is restored."))
    return redirect("message", item.pk)


SELECTION_DONE = {
    "read": lambda n: ngettext(
        "%(count)d letter is marked as read.", "%(count)d letters are marked as read.", n
    ),
    "unread": lambda n: ngettext(
        "%(count)d letter is marked as unread.", "%(count)d letters are marked as unread.", n
    ),
    "move": lambda n: ngettext("%(count)d letter is moved.", "%(count)d letters are moved.", n),
    "delete": lambda n: ngettext("%(count)d letter is in the bin.", "%(count)d letters are in the bin.", n),
    "restore": lambda n: ngettext("%(count)d letter is restored.", "%(count)d letters are restored.", n),
}


@require_POST
@mailbox_required(write=True)
def selected(request):
    """The listing's selection: one change (read, unread, move, delete, restore) to the letters
    ticked. Ids of another mailbox's letters give 404 and change nothing."""
    context = request.mailbox_context
    try:
        item_ids = [int(value) for value in request.POST.getlist("item")]
        folder_id = request.POST.get("folder", "")
        folder = None
        if request.POST.get("action") == "move" and folder_id:
            folder = get_object_or_404(Folder, pk=int(folder_id), mailbox=context.mailbox)
    except ValueError:
        raise Http404("No such letter or folder in this mailbox.") from None
    action = request.POST.get("action", "")
    try:
        changed, left = services.mailbox_items_change(
            context=context, item_ids=item_ids, action=action, folder=folder
        )
    except ObjectDoesNotExist:
        raise Http404("No such letter in this mailbox.") from None
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return _back(request, reverse("inbox"))
    messages.success(request, SELECTION_DONE[action](changed) % {"count": changed})
    if left:
        messages.info(
            request,
            ngettext(
                "%(count)d of the selected letters was left as it was: the change does not fit it.",
                "%(count)d of the selected letters were left as they were: the change does not fit them.",
                left,
            )
            % {"count": left},
        )
    return _back(request, reverse("inbox"))


@require_POST
@mailbox_required(write=True)
def bin_empty(request):
    context = request.mailbox_context
    count = services.mailbox_bin_empty(context=context)
    messages.success(request, _("The bin is emptied.") if count else _("The bin was already empty."))
    bin_folder = Folder.objects.get(mailbox=context.mailbox, kind=Folder.Kind.BIN)
    return redirect("folder", bin_folder.pk)


# --- Own folders -------------------------------------------------------------------------------


class FolderNameForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Folder name"), max_length=100)


def _folders_page(request, *, create_form=None, rename_forms=None, status=200):
    context = request.mailbox_context
    folders = selectors.folders_with_unread(mailbox=context.mailbox)
    own = [f for f in folders if f.kind == Folder.Kind.CUSTOM]
    rename_forms = rename_forms or {}
    rows = [
        (f, rename_forms.get(f.pk) or FolderNameForm(initial={"name": f.name}, prefix=f"folder-{f.pk}"))
        for f in own
    ]
    return render(
        request,
        "mailbox/folders.html",
        {"folders": folders, "own_folders": rows, "create_form": create_form or FolderNameForm()},
        status=status,
    )


@mailbox_required
def folders(request):
    """Own folders: the list, a form to create one, and rename/delete for each."""
    if request.method == "GET":
        return _folders_page(request)
    if request.method != "POST":
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    if not request.mailbox_context.can_write:
        raise PermissionDenied("Read access does not allow changes in this mailbox.")
    form = FolderNameForm(request.POST)
    if form.is_valid():
        try:
            folder = services.folder_create(context=request.mailbox_context, name=form.cleaned_data["name"])
        except ValidationError as error:
            form.add_error("name", error.message_dict.get("name", error.messages))
        else:
            messages.success(request, _("The folder %(name)s is created.") % {"name": folder.name})
            return _back(request, reverse("folders"))
    return _folders_page(request, create_form=form, status=400)


@require_POST
@mailbox_required(write=True)
def folder_rename(request, folder_id: int):
    context = request.mailbox_context
    folder = get_object_or_404(Folder, pk=folder_id, mailbox=context.mailbox, kind=Folder.Kind.CUSTOM)
    form = FolderNameForm(request.POST, prefix=f"folder-{folder.pk}")
    if form.is_valid():
        try:
            services.folder_rename(context=context, folder=folder, name=form.cleaned_data["name"])
        except ValidationError as error:
            form.add_error("name", error.message_dict.get("name", error.messages))
        else:
            messages.success(request, _("The folder is renamed."))
            return redirect("folders")
    return _folders_page(request, rename_forms={folder.pk: form}, status=400)


@require_POST
@mailbox_required(write=True)
def folder_delete(request, folder_id: int):
    context = request.mailbox_context
    folder = get_object_or_404(Folder, pk=folder_id, mailbox=context.mailbox, kind=Folder.Kind.CUSTOM)
    moved = services.folder_delete(context=context, folder=folder)
    if moved:
        text = ngettext(
            "The folder is deleted. Its letter is in your inbox.",
            "The folder is deleted. Its %(count)d letters are in your inbox.",
            moved,
        )
        messages.success(request, text % {"count": moved})
    else:
        messages.success(request, _("The folder is deleted."))
    return redirect("folders")


# --- Which mailbox -----------------------------------------------------------------------------


@require_POST
@login_required
def switch_mailbox(request, mailbox_id: int):
    return mailbox_switch(request, mailbox_id)
