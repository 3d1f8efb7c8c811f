"""Contact-structure editor in Administrativ Adgang, included under /admin/contact-structure/."""

urlpatterns = []
