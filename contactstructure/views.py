"""The contact-structure editor in Administrativ Adgang, with import and export of files.

Every view needs the contact-structure administrator role in the staff member's current
organisation, and looks objects up within that organisation, so another's ids give 404.
"""

from __future__ import annotations

from collections import defaultdict

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from adminaccess.access import Role, staff_required
from contactstructure import importexport, services
from contactstructure.forms import ContactGroupForm, ContactPointForm, ImportUploadForm, RoutingRuleForm
from contactstructure.models import ContactGroup, ContactPoint, ImportJob, RoutingRule

administrator = staff_required(Role.CONTACT_STRUCTURE_ADMINISTRATOR)
EDITOR = "adminaccess:contact-structure"


def _group(request, group_id: int) -> ContactGroup:
    return get_object_or_404(ContactGroup, pk=group_id, organisation=request.staff.organisation)


def _point(request, point_id: int) -> ContactPoint:
    return get_object_or_404(
        ContactPoint.objects.select_related("recipient_system", "group"),
        pk=point_id,
        organisation=request.staff.organisation,
    )


def _tree(organisation):
    """The groups as nested nodes in their order, and the points that are in no group."""
    groups = ContactGroup.objects.filter(organisation=organisation).order_by("position", "label", "pk")
    points = (
        ContactPoint.objects.filter(organisation=organisation)
        .select_related("recipient_system")
        .annotate(rule_count=Count("routing_rules"))
    )
    children, points_of = defaultdict(list), defaultdict(list)
    link = importexport.deep_link_template()
    for group in groups:
        children[group.parent_id].append(group)
    for point in points.order_by("label", "pk"):
        point.deep_link = importexport.deep_link_url(point, link)
        points_of[point.group_id].append(point)

    def node(group, seen):
        seen = seen | {group.pk}
        kids = [c for c in children[group.pk] if c.pk not in seen]
        return {
            "group": group,
            "children": [node(c, seen) for c in kids],
            "points": points_of[group.pk],
            "first": False,
            "last": False,
        }

    def mark(nodes):
        if nodes:
            nodes[0]["first"], nodes[-1]["last"] = True, True
        for n in nodes:
            mark(n["children"])
        return nodes

    return mark([node(g, frozenset()) for g in children[None]]), points_of[None]


@require_GET
@administrator
def editor(request):
    organisation = request.staff.organisation
    tree, loose_points = _tree(organisation)
    return render(
        request,
        "contactstructure/editor.html",
        {"tree": tree, "loose_points": loose_points, "is_authority": organisation.is_authority},
    )


# --- Groups -------------------------------------------------------------------------------------


def _group_from_query(request, name: str) -> ContactGroup | None:
    parent_id = request.GET.get(name, "")
    if not parent_id.isdigit():
        return None
    return ContactGroup.objects.filter(pk=parent_id, organisation=request.staff.organisation).first()


@require_http_methods(["GET", "POST"])
@administrator
def group_create(request):
    organisation = request.staff.organisation
    form = ContactGroupForm(request.POST or None, organisation=organisation)
    if request.method == "GET":
        parent = _group_from_query(request, "parent")
        form = ContactGroupForm(
            organisation=organisation, initial={"parent": parent.pk if parent else None, "is_visible": True}
        )
    elif form.is_valid():
        data = form.cleaned_data
        try:
            group = services.contact_group_create(
                organisation=organisation,
                label=data["label"],
                parent=data["parent"],
                info_text=data["info_text"],
                is_visible=data["is_visible"],
                position=data["position"],
                actor_user=request.user,
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("The group “%(label)s” was created.") % {"label": group.label})
            return redirect(EDITOR)
    status = 400 if request.method == "POST" else 200
    return render(request, "contactstructure/group_form.html", {"form": form, "group": None}, status=status)


@require_http_methods(["GET", "POST"])
@administrator
def group_edit(request, group_id: int):
    organisation = request.staff.organisation
    group = _group(request, group_id)
    form = ContactGroupForm(request.POST or None, organisation=organisation, group=group)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.contact_group_update(
                group=group,
                label=data["label"],
                parent=data["parent"],
                info_text=data["info_text"],
                is_visible=data["is_visible"],
                position=data["position"],
                actor_user=request.user,
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("The group “%(label)s” was saved.") % {"label": group.label})
            return redirect(EDITOR)
    status = 400 if request.method == "POST" else 200
    return render(request, "contactstructure/group_form.html", {"form": form, "group": group}, status=status)


@require_POST
@administrator
def group_shift(request, group_id: int):
    group = _group(request, group_id)
    step = {"up": -1, "down": 1}.get(request.POST.get("direction", ""))
    if step is None:
        return HttpResponse(_("Say up or down."), status=400, content_type="text/plain; charset=utf-8")
    services.contact_group_shift(group=group, step=step, actor_user=request.user)
    return redirect(f"{_editor_url()}#group-{group.pk}")


@require_http_methods(["GET", "POST"])
@administrator
def group_delete(request, group_id: int):
    group = _group(request, group_id)
    context = {
        "object": group,
        "kind": "group",
        "groups": group.children.count(),
        "points": group.contact_points.count(),
    }
    if request.method == "POST":
        try:
            services.contact_group_delete(group=group, actor_user=request.user)
        except ValidationError as error:
            context["error"] = " ".join(error.messages)
            return render(request, "contactstructure/confirm_delete.html", context, status=400)
        messages.success(request, _("The group “%(label)s” was deleted.") % {"label": group.label})
        return redirect(EDITOR)
    return render(request, "contactstructure/confirm_delete.html", context)


# --- Contact points -----------------------------------------------------------------------------


@require_http_methods(["GET", "POST"])
@administrator
def point_create(request):
    organisation = request.staff.organisation
    form = ContactPointForm(request.POST or None, organisation=organisation)
    if request.method == "GET":
        group = _group_from_query(request, "group")
        form = ContactPointForm(organisation=organisation, initial={"group": group.pk if group else None})
    elif form.is_valid():
        values = form.service_values()
        try:
            point = services.contact_point_create(
                organisation=organisation, actor_user=request.user, **values
            )
        except ValidationError as error:
            form.add_service_errors(error, renamed={"max_size_bytes": "max_size_kb"})
        else:
            messages.success(
                request, _("The contact point “%(label)s” was created.") % {"label": point.label}
            )
            return redirect("adminaccess:contact-structure-point-edit", point_id=point.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "contactstructure/point_form.html", {"form": form, "point": None}, status=status)


def _point_page(request, point, form, rule_form=None, status=200):
    rules = point.routing_rules.select_related("recipient_system")
    return render(
        request,
        "contactstructure/point_form.html",
        {
            "form": form,
            "point": point,
            "deep_link": importexport.deep_link_url(point),
            "rules": rules,
            "rule_form": rule_form or RoutingRuleForm(organisation=request.staff.organisation),
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@administrator
def point_edit(request, point_id: int):
    organisation = request.staff.organisation
    point = _point(request, point_id)
    form = ContactPointForm(request.POST or None, organisation=organisation, contact_point=point)
    if request.method == "GET":
        return _point_page(request, point, form)
    if form.is_valid():
        try:
            services.contact_point_update(
                contact_point=point, actor_user=request.user, **form.service_values()
            )
        except ValidationError as error:
            form.add_service_errors(error, renamed={"max_size_bytes": "max_size_kb"})
        else:
            messages.success(request, _("The contact point “%(label)s” was saved.") % {"label": point.label})
            return redirect("adminaccess:contact-structure-point-edit", point_id=point.pk)
    point.refresh_from_db()
    return _point_page(request, point, form, status=400)


@require_http_methods(["GET", "POST"])
@administrator
def point_delete(request, point_id: int):
    point = _point(request, point_id)
    if request.method == "POST":
        services.contact_point_delete(contact_point=point, actor_user=request.user)
        messages.success(request, _("The contact point “%(label)s” was deleted.") % {"label": point.label})
        return redirect(EDITOR)
    return render(
        request,
        "contactstructure/confirm_delete.html",
        {"object": point, "kind": "point", "rules": point.routing_rules.count()},
    )


# --- Routing rules ------------------------------------------------------------------------------


def _rule_values(form) -> dict:
    data = form.cleaned_data
    return {
        name: data[name]
        for name in ("priority", "kle_prefix", "content_key", "content_value", "recipient_system")
    }


@require_POST
@administrator
def rule_create(request, point_id: int):
    point = _point(request, point_id)
    rule_form = RoutingRuleForm(request.POST, organisation=request.staff.organisation)
    if rule_form.is_valid():
        try:
            services.routing_rule_create(
                contact_point=point, actor_user=request.user, **_rule_values(rule_form)
            )
        except ValidationError as error:
            rule_form.add_service_errors(error)
        else:
            messages.success(request, _("The routing rule was added."))
            return redirect(f"{_point_url(point)}#routing-rules")
    form = ContactPointForm(organisation=request.staff.organisation, contact_point=point)
    return _point_page(request, point, form, rule_form=rule_form, status=400)


def _rule(request, point, rule_id: int) -> RoutingRule:
    return get_object_or_404(
        RoutingRule.objects.select_related("recipient_system"), pk=rule_id, contact_point=point
    )


@require_http_methods(["GET", "POST"])
@administrator
def rule_edit(request, point_id: int, rule_id: int):
    point = _point(request, point_id)
    rule = _rule(request, point, rule_id)
    form = RoutingRuleForm(request.POST or None, organisation=request.staff.organisation, rule=rule)
    if request.method == "POST" and form.is_valid():
        try:
            services.routing_rule_update(rule=rule, actor_user=request.user, **_rule_values(form))
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            messages.success(request, _("The routing rule was saved."))
            return redirect(f"{_point_url(point)}#routing-rules")
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "contactstructure/rule_form.html",
        {"form": form, "point": point, "rule": rule},
        status=status,
    )


@require_POST
@administrator
def rule_delete(request, point_id: int, rule_id: int):
    point = _point(request, point_id)
    rule = _rule(request, point, rule_id)
    services.routing_rule_delete(rule=rule, actor_user=request.user)
    messages.success(request, _("The routing rule was deleted."))
    return redirect(f"{_point_url(point)}#routing-rules")


def _editor_url() -> str:
    return reverse(EDITOR)


def _point_url(point) -> str:
    return reverse("adminaccess:contact-structure-point-edit", kwargs={"point_id": point.pk})


# --- Export and import --------------------------------------------------------------------------


@require_GET
@administrator
def export(request):
    organisation = request.staff.organisation
    file_format = request.GET.get("format", "xlsx")
    stamp = timezone.now().strftime("%Y%m%d")
    if file_format == "csv":
        content, content_type = importexport.export_csv(organisation), "text/csv; charset=utf-8"
    elif file_format == "xlsx":
        content = importexport.export_xlsx(organisation)
        content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    else:
        raise Http404("No such format.")
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = (
        f'attachment; filename="contact-structure-{organisation.cvr}-{stamp}.{file_format}"'
    )
    return response


@require_http_methods(["GET", "POST"])
@administrator
def import_upload(request):
    organisation = request.staff.organisation
    form = ImportUploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            job = services.import_job_create(
                organisation=organisation,
                file_name=upload.name,
                data=upload.read(),
                actor_user=request.user,
                language=request.LANGUAGE_CODE,
            )
        except ValidationError as error:
            form.add_service_errors(error)
        else:
            return redirect("adminaccess:contact-structure-import-job", job_id=job.pk)
    jobs = ImportJob.objects.filter(organisation=organisation).defer("data")[:10]
    status = 400 if request.method == "POST" else 200
    return render(
        request,
        "contactstructure/import.html",
        {"form": form, "jobs": jobs, "columns": importexport.COLUMNS, "max_rows": importexport.MAX_ROWS},
        status=status,
    )


def _job(request, job_id: int) -> ImportJob:
    return get_object_or_404(
        ImportJob.objects.defer("data").select_related("created_by"),
        pk=job_id,
        organisation=request.staff.organisation,
    )


@require_GET
@administrator
def import_job(request, job_id: int):
    return render(request, "contactstructure/import_job.html", {"job": _job(request, job_id)})


@require_GET
@administrator
def import_progress(request, job_id: int):
    """The status part of the job page, which htmx polls while the job runs."""
    return render(request, "contactstructure/_import_status.html", {"job": _job(request, job_id)})


@require_POST
@administrator
def import_apply(request, job_id: int):
    job = _job(request, job_id)
    if not services.import_job_confirm(job=job, actor_user=request.user):
        messages.error(request, _("This file cannot be applied now: it is not checked and free of errors."))
    return redirect("adminaccess:contact-structure-import-job", job_id=job.pk)


@require_POST
@administrator
def import_restart(request, job_id: int):
    job = _job(request, job_id)
    if services.import_job_restart(job=job):
        messages.info(request, _("The import was started again."))
    return redirect("adminaccess:contact-structure-import-job", job_id=job.pk)
