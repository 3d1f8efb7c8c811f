from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import render

from mailbox.selectors import mailbox_items_in_folder
from rights.models import Person


def _person(request) -> Person | None:
    if not request.user.is_authenticated:
        return None
    return Person.objects.filter(user=request.user).first()


def home(request):
    return render(request, "home.html", {"person": _person(request)})


@login_required
def inbox(request):
    person = _person(request)
    if person is None:
        raise Http404("This login has no mailbox.")
    page = Paginator(mailbox_items_in_folder(person=person), 50).get_page(request.GET.get("page"))
    return render(request, "mailbox/inbox.html", {"items": page.object_list, "page": page})
