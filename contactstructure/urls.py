"""Contact-structure editor in Administrativ Adgang, included under /admin/contact-structure/."""

from django.urls import path

from contactstructure import views

urlpatterns = [
    path("", views.editor, name="contact-structure"),
    path("groups/new/", views.group_create, name="contact-structure-group-create"),
    path("groups/<int:group_id>/", views.group_edit, name="contact-structure-group-edit"),
    path("groups/<int:group_id>/move/", views.group_shift, name="contact-structure-group-shift"),
    path("groups/<int:group_id>/delete/", views.group_delete, name="contact-structure-group-delete"),
    path("points/new/", views.point_create, name="contact-structure-point-create"),
    path("points/<int:point_id>/", views.point_edit, name="contact-structure-point-edit"),
    path("points/<int:point_id>/delete/", views.point_delete, name="contact-structure-point-delete"),
    path("points/<int:point_id>/rules/", views.rule_create, name="contact-structure-rule-create"),
    path("points/<int:point_id>/rules/<int:rule_id>/", views.rule_edit, name="contact-structure-rule-edit"),
    path(
        "points/<int:point_id>/rules/<int:rule_id>/delete/",
        views.rule_delete,
        name="contact-structure-rule-delete",
    ),
    path("export/", views.export, name="contact-structure-export"),
    path("import/", views.import_upload, name="contact-structure-import"),
    path("import/<int:job_id>/", views.import_job, name="contact-structure-import-job"),
    path("import/<int:job_id>/progress/", views.import_progress, name="contact-structure-import-progress"),
    path("import/<int:job_id>/apply/", views.import_apply, name="contact-structure-import-apply"),
    path("import/<int:job_id>/restart/", views.import_restart, name="contact-structure-import-restart"),
]
