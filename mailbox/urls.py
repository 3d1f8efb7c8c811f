from django.contrib.auth.views import LogoutView
from django.urls import path

from mailbox import views
from rights.views import dev_login

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", dev_login, name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("post/", views.inbox, name="inbox"),
]
