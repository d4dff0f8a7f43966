from django.urls import path

from . import views

urlpatterns = [
    path("leads/", views.leads, name="api-leads"),
    path("leads/<int:pk>/", views.lead_detail, name="api-lead"),
]
