"""Section URLs (see adminaccess/urls/__init__.py)."""

urlpatterns = []
