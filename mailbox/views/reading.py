from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.views.decorators.http import require_POST

from mailbox.access import mailbox_required, mailbox_switch, person_for_user
from mailbox.selectors import mailbox_items_in_folder


def home(request):
    return render(request, "home.html", {"person": person_for_user(request.user)})


@mailbox_required
def inbox(request):
    context = request.mailbox_context
    page = Paginator(mailbox_items_in_folder(mailbox=context.mailbox), 50).get_page(request.GET.get("page"))
    return render(request, "mailbox/inbox.html", {"items": page.object_list, "page": page})


@require_POST
@login_required
def switch_mailbox(request, mailbox_id: int):
    return mailbox_switch(request, mailbox_id)
