from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("", include("leadflow.tracking.urls")),
    path("", include("leadflow.website.urls")),
    path("api/v1/", include("leadflow.api.urls")),
    path("settings/scoring/", include("scoring.urls")),
    path("admin/", admin.site.urls),
    path("", include("leadflow.reports.urls")),
    path("", include("leadflow.workspaces.urls")),
]
