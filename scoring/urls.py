from django.urls import path

from . import views

urlpatterns = [
    path("", views.rules_page, name="scoring_rules"),
    path("whatif/", views.whatif, name="scoring_whatif"),
    path("rules/new/<slug:kind>/", views.rule_new, name="scoring_rule_new"),
    path("rules/<slug:key>/", views.rule_edit, name="scoring_rule_edit"),
    path("rules/<slug:key>/toggle/", views.rule_toggle, name="scoring_rule_toggle"),
    path("rules/<slug:key>/delete/", views.rule_delete, name="scoring_rule_delete"),
    path("groups/new/", views.group_edit, name="scoring_group_new"),
    path("groups/<slug:key>/", views.group_edit, name="scoring_group_edit"),
    path("groups/<slug:key>/delete/", views.group_delete, name="scoring_group_delete"),
    path("stage/", views.stage_edit, name="scoring_stage_edit"),
    path("publish/", views.publish, name="scoring_publish"),
    path("discard/", views.discard, name="scoring_discard"),
    path("runs/<int:pk>/progress/", views.run_progress, name="scoring_run_progress"),
    path("versions/", views.versions, name="scoring_versions"),
    path("versions/<int:number>/", views.version_detail, name="scoring_version"),
    path("versions/<int:number>/draft/", views.version_restore, name="scoring_version_restore"),
]
