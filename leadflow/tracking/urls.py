from django.urls import path

from . import pages, views

# Segment's paths, and the one-letter paths of its browser library (`${apiHost}/${type[0]}`,
# `${apiHost}/b` when it batches), whose apiHost is this server's host and /v1.
CALLS = ["identify", "track", "page", "screen", "group", "alias"]

urlpatterns = [
    *(path(f"v1/{kind}", views.single, {"type_": kind}, name=f"track-{kind}") for kind in CALLS),
    *(path(f"v1/{kind[0]}", views.single, {"type_": kind}) for kind in CALLS),
    path("v1/batch", views.batch, name="track-batch"),
    path("v1/b", views.batch),
    path("v1/import", views.batch, name="track-import"),
    path("settings/keys/", pages.key_list, name="write_keys"),
    path("settings/keys/<int:pk>/rotate/", pages.key_rotate, name="write_key_rotate"),
    path("settings/keys/<int:pk>/revoke/", pages.key_revoke, name="write_key_revoke"),
]
