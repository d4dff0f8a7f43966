from django.urls import path

from . import views

urlpatterns = [
    path("t.js", views.snippet, name="snippet"),
    path("demo-site/", views.demo_home, name="demo_site"),
    path("demo-site/pricing/", views.demo_pricing, name="demo_site_pricing"),
    path("demo-site/white-paper/", views.demo_white_paper, name="demo_site_white_paper"),
    path("demo-site/white-paper/thanks/", views.demo_thanks, name="demo_site_thanks"),
]
