from django.contrib.auth import views as auth_views
from django.http import HttpResponse
from django.urls import path

from . import views

urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(redirect_authenticated_user=True),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("healthz", lambda request: HttpResponse("ok"), name="healthz"),
    path("", views.home, name="home"),
    path("queues/mql/", views.mql_queue, name="mql_queue"),
    path("queues/mql/bulk/", views.mql_bulk, name="mql_bulk"),
    path("queues/mql/views/", views.saved_view_create, name="saved_view_create"),
    path("queues/mql/views/<int:pk>/delete/", views.saved_view_delete, name="saved_view_delete"),
    path("work/", views.my_work, name="my_work"),
    path("deals/", views.my_deals, name="my_deals"),
    path("leads/new/", views.lead_new, name="lead_new"),
    path("leads/<int:pk>/", views.lead_detail, name="lead_detail"),
    path("leads/<int:pk>/do/<slug:name>/", views.lead_do, name="lead_do"),
    path("leads/<int:pk>/merge/", views.contact_merge, name="contact_merge"),
    path("search/", views.search, name="search"),
    path("notifications/", views.notifications, name="notifications"),
    path("team/", views.team, name="team"),
    path("team/<int:pk>/", views.team_availability, name="team_availability"),
    path("notifications/read/", views.notifications_mark_read, name="notifications_read"),
]
