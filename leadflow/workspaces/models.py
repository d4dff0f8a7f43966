from __future__ import annotations

from django.conf import settings
from django.db import models


class SavedView(models.Model):
    """A person's named set of filters on a list page, e.g. "Unassigned from the webinar"."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views"
    )
    page = models.CharField(max_length=30)  # the URL name of the list, e.g. "mql_queue"
    name = models.CharField(max_length=60)
    query = models.CharField(max_length=1000, blank=True, default="")  # the query string
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["user", "page", "name"], name="saved_view_unique_name")
        ]

    def __str__(self) -> str:
        return self.name
