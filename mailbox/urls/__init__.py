"""The browser inbox. Each area has its own URL module beside this one."""

from django.contrib.auth.views import LogoutView
from django.urls import include, path

from mailbox.views import reading
from rights.views import dev_login

urlpatterns = [
    path("", reading.home, name="home"),
    path("login/", dev_login, name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("post/", include("mailbox.urls.reading")),
    path("post/", include("mailbox.urls.writing")),
    path("post/", include("mailbox.urls.account")),
]
