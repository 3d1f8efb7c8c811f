from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path, re_path

from digitalpost.health import healthz
from mailbox.api.common import not_found as api_not_found

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("apis/v1/", include("mailbox.api.urls")),
    re_path(r"^apis/", api_not_found, name="api-not-found"),  # JSON, not the site's page
    path("django-admin/", admin.site.urls),
    path("admin/", include("adminaccess.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include("mailbox.urls")),
]

if settings.DEBUG:
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)

if settings.OIDC_ENABLED:
    # MitID through OpenID Connect, only where it is configured (see rights/oidc.py).
    urlpatterns.insert(0, path("oidc/", include("rights.oidc")))
