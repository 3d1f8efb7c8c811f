from django.conf import settings


def hub(request):
    def is_staff_member() -> bool:
        # A callable: templates call it only where the header needs it.
        from adminaccess.access import STAFF_ROLES

        user = getattr(request, "user", None)
        return bool(user and user.is_authenticated and user.staff_roles.filter(role__in=STAFF_ROLES).exists())

    return {"DEV_LOGIN_ENABLED": settings.DIGITALPOST_DEV_LOGIN, "is_staff_member": is_staff_member}
