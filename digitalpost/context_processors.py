from django.conf import settings


def hub(request):
    return {"DEV_LOGIN_ENABLED": settings.DIGITALPOST_DEV_LOGIN}
