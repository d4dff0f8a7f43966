from django.urls import path

from . import views

urlpatterns = [
    path("openapi.json", views.openapi, name="api-openapi"),
    path("leads/", views.leads, name="api-leads"),
    path("leads/<int:pk>/", views.lead_detail, name="api-lead"),
    path("leads/<int:pk>/transitions/", views.lead_transitions, name="api-lead-transitions"),
    path("leads/<int:pk>/merge/", views.lead_merge, name="api-lead-merge"),
]
