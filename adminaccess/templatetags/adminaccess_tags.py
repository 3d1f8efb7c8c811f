from django import template

from adminaccess.navigation import sections_for

register = template.Library()


@register.inclusion_tag("adminaccess/_nav.html", takes_context=True)
def admin_nav(context):
    request = context["request"]
    staff = getattr(request, "staff", None)
    sections = sections_for(staff) if staff else []
    current = request.resolver_match.view_name if request.resolver_match else ""
    for section in sections:
        section["current"] = current == section["url_name"] or (current.startswith(section["url_name"] + "-"))
    return {"sections": sections, "staff": staff, "request": request}
