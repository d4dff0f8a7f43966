from django.urls import path

from . import views

urlpatterns = [
    path("v1/identify", views.single, {"type_": "identify"}, name="track-identify"),
    path("v1/track", views.single, {"type_": "track"}, name="track-track"),
    path("v1/page", views.single, {"type_": "page"}, name="track-page"),
    path("v1/batch", views.batch, name="track-batch"),
]
