"""Inbox URLs for writing: reply, write to an authority, drafts (see mailbox/urls/__init__.py)."""

from django.urls import path

from mailbox.views import writing

urlpatterns = [
    path("message/<int:item_id>/reply/", writing.reply, name="reply"),
    path("write/", writing.write, name="write"),
    path("write/suggestions/", writing.write_suggestions, name="write-suggestions"),
    path("write/authority/<str:cvr>/", writing.write_authority, name="write-authority"),
    # The contact point's deep link: the staff UI shows this path.
    path("write/<uuid:key>/", writing.write_contact_point, name="write-contact-point"),
    path("drafts/", writing.drafts, name="drafts"),
    path("drafts/<int:draft_id>/", writing.draft_open, name="draft-edit"),
    path("drafts/<int:draft_id>/delete/", writing.draft_remove, name="draft-delete"),
]
