"""Inbox URLs (see mailbox/urls/__init__.py)."""

urlpatterns = []
